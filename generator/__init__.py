"""Static timeline site generator for scraped news on Russia–Ukraine diplomacy."""

__version__ = "0.1.0"
