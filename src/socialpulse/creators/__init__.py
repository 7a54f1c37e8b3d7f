"""Creator intelligence: public creator data shared by the instance, reports, the crawl."""
