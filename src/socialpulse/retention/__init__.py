"""Retention: the daily pass that prunes finished work of every domain (see ``service``)."""
