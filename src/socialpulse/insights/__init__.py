"""Workspace insights: the analytics overview across accounts and platforms, and ROI."""
