"""Give every article `prev_article` / `next_article` (chronological neighbours).

Pelican has no built-in prev/next; looking neighbours up inside the template
would be O(N) per page, so they are set once here, after articles are read.
"""

from pelican import signals


def _link_neighbours(generator):  # type: ignore[no-untyped-def]
    articles = sorted(generator.articles, key=lambda a: (a.date, a.slug))
    for index, article in enumerate(articles):
        article.prev_article = articles[index - 1] if index else None
        article.next_article = articles[index + 1] if index + 1 < len(articles) else None


def register():  # type: ignore[no-untyped-def]
    signals.article_generator_finalized.connect(_link_neighbours)
