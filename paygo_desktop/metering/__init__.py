"""Exact metering: what a session costs at each instant, in integer base units, on a monotonic clock."""
