"""Images: download through the egress policy, decode safely, resize, store content-addressed."""
