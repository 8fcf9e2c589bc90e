"""Pelican settings for the benchmark: the same page kinds as our site.

Article pages with prev/next (plugins/bench_neighbors.py), an index paginated
50 a page and grouped by month, tag pages and outlet (category) pages paginated
the same way, month and year archives, one Atom feed of the latest 50, and a
sitemap (a direct template). Input is HTML, like our bodies; the content folder
is given on the command line by bench/run.py.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent

AUTHOR = "bench"  # an empty author makes Pelican warn on every build
SITENAME = "俄乌外交时间线（Pelican 对照）"
SITEURL = "https://bench.example"
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "zh"
DEFAULT_DATE_FORMAT = "%Y年%m月%d日"

THEME = str(HERE / "theme")
PLUGIN_PATHS = [str(HERE / "plugins")]
PLUGINS = ["bench_neighbors"]

READERS = {"md": None, "rst": None}  # the corpus is HTML only
ARTICLE_ORDER_BY = "date"  # oldest first, like our timeline
DEFAULT_PAGINATION = 50
PAGINATED_TEMPLATES = {"index": None, "tag": None, "category": None}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

# Directory-style URLs, like ours and Hugo's.
ARTICLE_URL = "articles/{slug}/"
ARTICLE_SAVE_AS = "articles/{slug}/index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = "tags/{slug}/index.html"
TAGS_SAVE_AS = "tags/index.html"
CATEGORY_URL = "outlets/{slug}/"
CATEGORY_SAVE_AS = "outlets/{slug}/index.html"
CATEGORIES_SAVE_AS = "outlets/index.html"
YEAR_ARCHIVE_SAVE_AS = "{date:%Y}/index.html"
MONTH_ARCHIVE_SAVE_AS = "{date:%Y}/{date:%m}/index.html"
ARCHIVES_SAVE_AS = "archive/index.html"
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
PAGE_SAVE_AS = ""
DIRECT_TEMPLATES = ["index", "tags", "categories", "archives", "sitemap"]
SITEMAP_SAVE_AS = "sitemap.xml"

# One site-wide feed, like ours.
FEED_ALL_ATOM = "feed.xml"
FEED_MAX_ITEMS = 50
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

# Every run is a cold build.
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
DELETE_OUTPUT_DIRECTORY = False  # bench/run.py deletes it itself
RELATIVE_URLS = False
