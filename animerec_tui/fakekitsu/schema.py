"""What each resource declares (kitsu-server app/resources/*.rb), and Kitsu's page limits.

Relationship names are camelCased as Kitsu's ``json_key_format = :camelized_key`` writes them
(config/initializers/jsonapi-resources.rb); :data:`KEBAB` is their URL spelling (jsonapi-
resources' route formatter dasherizes).
"""

from __future__ import annotations

import re

# kitsu-server config/initializers/jsonapi-resources.rb: ``default_page_size = 10``,
# ``maximum_page_size = 20``; lib/library_paginator.rb: library entries up to 500, with the
# detail "Limit exceeds maximum page size of 500." (jsonapi-resources' InvalidPageValue, 118).
DEFAULT_LIMIT = 10
MAX_LIMIT = 20
MAX_LIBRARY_LIMIT = 500

ENTRY_RELS = (
    "user",
    "anime",
    "manga",
    "drama",
    "review",
    "mediaReaction",
    "media",
    "unit",
    "nextUnit",
)
USER_RELS = (
    "waifu",
    "pinnedPost",
    "followers",
    "following",
    "blocks",
    "linkedAccounts",
    "profileLinks",
    "userRoles",
    "libraryEntries",
    "favorites",
    "reviews",
    "stats",
    "notificationSettings",
    "oneSignalPlayers",
    "categoryFavorites",
    "quotes",
)
ANIME_RELS = (
    "genres",
    "categories",
    "castings",
    "installments",
    "mappings",
    "reviews",
    "mediaRelationships",
    "characters",
    "staff",
    "productions",
    "quotes",
    "episodes",
    "streamingLinks",
    "animeProductions",
    "animeCharacters",
    "animeStaff",
)
MANGA_RELS = (
    *ANIME_RELS[:11],  # MediaResource's has_many, in declaration order
    "chapters",
    "mangaCharacters",
    "mangaStaff",
)
"""kitsu-server app/resources/manga_resource.rb (``has_many :chapters, :manga_characters,
:manga_staff``) after media_resource.rb's."""
FAVORITE_RELS = ("user", "item")
CHARACTER_RELS = ("primaryMedia", "castings", "mediaCharacters", "quotes")
"""kitsu-server ``app/resources/character_resource.rb``; recorded in the favourites fixture."""
RELATION_RELS = ("source", "destination")
"""kitsu-server app/resources/media_relationship_resource.rb: ``has_one :source, polymorphic:
true`` and ``has_one :destination, polymorphic: true`` (each anime or manga: the model's
``validates :destination, polymorphism: { type: Media }``, app/models/media_relationship.rb)."""
CATEGORY_RELS = ("parent", "anime", "drama", "manga")
"""kitsu-server app/resources/category_resource.rb (``has_one :parent``, ``has_many :anime``,
``:drama``, ``:manga``); recorded in anime-1_include-categories_kitsulib.json."""
ROLES = (
    "sequel",
    "prequel",
    "alternative_setting",
    "alternative_version",
    "side_story",
    "parent_story",
    "summary",
    "full_story",
    "spinoff",
    "adaptation",
    "character",
    "other",
)
"""``MediaRelationship.roles`` in enum order (kitsu-server app/models/media_relationship.rb,
``enum role: { sequel: 0, ... other: 11 }``): serialised by name, filtered by name or number."""
KEBAB = {
    name: re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    for name in (
        *ENTRY_RELS,
        *USER_RELS,
        *ANIME_RELS,
        *FAVORITE_RELS,
        *CHARACTER_RELS,
        *RELATION_RELS,
        *CATEGORY_RELS,
        *MANGA_RELS,
    )
}
STATUS_KEYS = (
    ("current", "current"),
    ("completed", "completed"),
    ("on_hold", "onHold"),
    ("planned", "planned"),
    ("dropped", "dropped"),
)
TOP_PARAMS = ("filter", "fields", "page", "include", "sort")
BASE_ATTRS = ("createdAt", "updatedAt")  # kitsu-server app/resources/base_resource.rb


def _fieldset(names: str, *relationships: str) -> frozenset[str]:
    return frozenset((*BASE_ATTRS, *names.split(), *relationships))


FIELDS: dict[str, frozenset[str]] = {
    # What ``fields[type]`` may name: the resource's attributes and relationships, camelCased
    # (jsonapi-resources 0.9.12 request_parser.rb ``parse_fields``: anything else is 400
    # InvalidField, code 104). From kitsu-server app/resources/*.rb; PRIVATE_FIELDS of the
    # user resource are declared attributes too. Types not listed here are not checked.
    "libraryEntries": _fieldset(
        "status progress volumesOwned reconsuming reconsumeCount notes private reactionSkipped "
        "progressedAt startedAt finishedAt rating ratingTwenty",
        *ENTRY_RELS,
    ),
    "users": _fieldset(
        "name pastNames slug about location waifuOrHusbando followersCount followingCount "
        "lifeSpentOnAnime birthday gender commentsCount favoritesCount likesGivenCount "
        "reviewsCount likesReceivedCount postsCount ratingsCount mediaReactionsCount "
        "proExpiresAt title profileCompleted feedCompleted website proTier avatar coverImage "
        "email password confirmed previousEmail language timeZone country shareToGlobal "
        "titleLanguagePreference sfwFilter ratingSystem theme facebookId hasPassword status "
        "subscribedToNewsletter aoPro permissions sfwFilterPreference",
        *USER_RELS,
    ),
    "favorites": _fieldset("favRank", *FAVORITE_RELS),
    # media_relationship_resource.rb: ``attribute :role`` and the two relationships
    "mediaRelationships": _fieldset("role", *RELATION_RELS),
    # category_resource.rb ``attributes :title, :description, :total_media_count, :slug,
    # :nsfw, :child_count`` (``image`` is in the recording too)
    "categories": _fieldset(
        "title description totalMediaCount slug nsfw childCount image", *CATEGORY_RELS
    ),
}
