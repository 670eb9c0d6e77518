"""A judged query set over the demo catalog (services/catalog/demo.py): shoppers' words, graded by rules.

Every query comes with a rule that grades each demo product from its own fields: its kind (the demo template
it was generated from, read from its title), category, colours (the `color` attribute and the colour option's
values), sizes (the size option's values), attributes and price. Grade 2 is exactly what was asked, 1 an
acceptable substitute (a close kind, or the right kind missing one detail of the request), 0 not relevant.
The rules judge the catalog, never a search engine's output, so a change to search cannot move its own
goalposts; and they are written against the demo's templates rather than one generated catalog, so any seed
gives a judged set (the figures in bench/README.md use the demo's own seed, 7).

A budget ("under fifty dollars") is a hard limit: nothing above it is relevant. Where the demo's generated
attributes contradict a product's kind (a "Wireless Earbuds" product whose `connectivity` is "wired"), the kind
wins: title and description are what a shopper reads first.

Query styles (`style`, reported as slices): short keywords, long sentences, budgets in words, needs described
in other words than the catalog's (paraphrase), typos, terse lists of several things, and option values
(sizes, colours).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.catalog import demo

STYLES = ("short", "long", "budget", "paraphrase", "typo", "list", "option")


@dataclass(frozen=True)
class Item:
    """A demo product as the rules read it."""

    sku: str
    title: str
    category: str
    kind: str  # the demo template's name, e.g. "Running Shoe"
    brand: str
    price: float  # in whole US dollars
    colors: frozenset[str]
    sizes: frozenset[str]
    attributes: Mapping[str, Any]

    def attribute(self, key: str) -> str:
        value = self.attributes.get(key)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value).lower()


def kind_of(product: Mapping[str, Any]) -> str:
    """The template a demo product was made from: the longest kind name of its category in its title."""
    for category in demo.CATEGORIES:
        if category.slug == product["category"]:
            names = [kind.name for kind in category.kinds if kind.name in product["title"]]
            return max(names, key=len) if names else ""
    return ""


def item(product: Mapping[str, Any]) -> Item:
    options: Mapping[str, Sequence[Any]] = product.get("options") or {}
    colors = {str(product["attributes"].get("color", "")).lower(), *(str(c).lower() for c in options.get("color", ()))}
    return Item(
        sku=str(product["sku"]),
        title=str(product["title"]),
        category=str(product["category"]),
        kind=kind_of(product),
        brand=str(product["brand"]),
        price=int(product["price_minor"]) / 100,
        colors=frozenset(colors - {""}),
        sizes=frozenset(str(size).upper() for size in options.get("size", ())),
        attributes=dict(product["attributes"]),
    )


class Is:
    """A predicate over items, combinable with `&`, `|` and `~`."""

    def __init__(self, test: Callable[[Item], bool]) -> None:
        self._test = test

    def __call__(self, candidate: Item) -> bool:
        return self._test(candidate)

    def __and__(self, other: Is) -> Is:
        return Is(lambda candidate: self(candidate) and other(candidate))

    def __or__(self, other: Is) -> Is:
        return Is(lambda candidate: self(candidate) or other(candidate))

    def __invert__(self) -> Is:
        return Is(lambda candidate: not self(candidate))


NOTHING = Is(lambda candidate: False)


def kind(*names: str) -> Is:
    unknown = set(names) - {k.name for category in demo.CATEGORIES for k in category.kinds}
    if unknown:
        raise ValueError(f"not a demo kind: {', '.join(sorted(unknown))}")
    return Is(lambda candidate: candidate.kind in names)


def category(*slugs: str) -> Is:
    return Is(lambda candidate: candidate.category in slugs)


def at_most(dollars: float) -> Is:
    return Is(lambda candidate: candidate.price <= dollars)


def between(low: float, high: float) -> Is:
    return Is(lambda candidate: low <= candidate.price <= high)


def color(*colors: str) -> Is:
    """Sold in one of these colours (its pictured colour or one of its colour option's values)."""
    return Is(lambda candidate: bool(candidate.colors & set(colors)))


def size(value: str) -> Is:
    """Sold in this size (a value of its size option)."""
    return Is(lambda candidate: value.upper() in candidate.sizes)


def attribute(key: str, *values: str) -> Is:
    return Is(lambda candidate: candidate.attribute(key) in values)


def number(key: str, low: float = float("-inf"), high: float = float("inf")) -> Is:
    def test(candidate: Item) -> bool:
        value = candidate.attributes.get(key)
        return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high

    return Is(test)


def min_age(*ages: str) -> Is:
    return attribute("age", *ages)


# For women / for men: the product's own gender or unisex.
FOR_WOMEN = attribute("gender", "women", "unisex")
FOR_MEN = attribute("gender", "men", "unisex")
BLUETOOTH = attribute("connectivity", "bluetooth", "bluetooth + wired")


@dataclass(frozen=True)
class JudgedQuery:
    text: str
    style: str
    exact: Is  # grade 2
    acceptable: Is = NOTHING  # grade 1

    def grade(self, candidate: Item) -> int:
        if self.exact(candidate):
            return 2
        return 1 if self.acceptable(candidate) else 0

    def judgments(self, items: Sequence[Item]) -> dict[str, int]:
        """Each relevant product's grade by SKU (products not named are grade 0)."""
        grades = {candidate.sku: self.grade(candidate) for candidate in items}
        return {sku: grade for sku, grade in grades.items() if grade > 0}


# A short name: the set below reads as a table of query, style, grade 2, grade 1.
def Q(text: str, style: str, exact: Is, acceptable: Is = NOTHING) -> JudgedQuery:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}")
    return JudgedQuery(text, style, exact, acceptable)


RUNNING = kind("Running Shoe")
TRAIL = kind("Trail Runner")
BOOTS = kind("Hiking Boot")
SNEAKERS = kind("Canvas Sneaker")
EARBUDS = kind("Wireless Earbuds", "Sport Earbuds")
ANC = kind("Noise-Cancelling Headphones")
BACKPACKS = category("backpacks")

QUERIES: tuple[JudgedQuery, ...] = (
    # --- short keywords --------------------------------------------------------------------------------------
    Q("running shoes", "short", RUNNING, TRAIL),
    Q("rain jacket", "short", kind("Rain Jacket"), category("jackets") & attribute("waterproof", "true")),
    Q("wireless earbuds", "short", kind("Wireless Earbuds"), kind("Sport Earbuds") & BLUETOOTH),
    Q("french press", "short", kind("French Press"), kind("Pour-Over Dripper")),
    Q("yoga mat", "short", kind("Yoga Mat")),
    Q("tent", "short", kind("Two-Person Tent")),
    Q("espresso machine", "short", kind("Espresso Machine"), kind("Burr Grinder")),
    Q("standing desk", "short", kind("Standing Desk"), kind("Monitor Arm", "Ergonomic Office Chair")),
    Q("garden hose", "short", kind("Garden Hose"), kind("Watering Can")),
    Q("jigsaw puzzle", "short", kind("Jigsaw Puzzle"), kind("Board Game")),
    # --- long sentences ------------------------------------------------------------------------------------
    Q("i need a pair of waterproof boots for hiking on wet muddy trails this autumn", "long", BOOTS, TRAIL),
    Q(
        "looking for a warm winter coat that will keep me toasty walking to work in the snow",
        "long",
        kind("Down Parka"),
        kind("Insulated Vest", "Fleece Jacket"),
    ),
    Q(
        "a comfortable chair for working from home all day that is good for my back",
        "long",
        kind("Ergonomic Office Chair"),
        kind("Standing Desk"),
    ),
    Q("something to keep my coffee hot on the go", "long", kind("Insulated Travel Mug")),
    Q("headphones that block out the engine noise on long flights", "long", ANC, EARBUDS),
    Q(
        "a present for a curious six year old who loves building things",
        "long",
        kind("Building Blocks Set") & min_age("3+", "4+", "6+"),
        kind("Building Blocks Set", "Wooden Train Set") & min_age("3+", "4+", "6+", "8+"),
    ),
    Q("a good sharp knife for chopping vegetables every day", "long", kind("Chef's Knife"), kind("Cutting Board")),
    Q(
        "a pan i can put in the oven after searing a steak on the stove",
        "long",
        kind("Cast Iron Skillet"),
        kind("Nonstick Frying Pan"),
    ),
    Q(
        "i want to start growing my own basil and parsley on the kitchen windowsill",
        "long",
        kind("Herb Seed Kit"),
        kind("Watering Can", "Raised Garden Bed"),
    ),
    Q(
        "a backpack for my daily bike commute that fits a laptop and survives the rain",
        "long",
        kind("Commuter Backpack", "Rolltop Bag"),
        kind("Daypack"),
    ),
    Q(
        "what should i take to drink safely from mountain streams on a long backpacking trip",
        "long",
        kind("Water Filter"),
    ),
    Q(
        "a sleeping bag warm enough for camping when there is frost at night",
        "long",
        kind("Sleeping Bag"),
        kind("Inflatable Sleeping Pad"),
    ),
    # --- budgets in words ----------------------------------------------------------------------------------
    Q("running shoes under a hundred dollars", "budget", RUNNING & at_most(100), TRAIL & at_most(100)),
    Q(
        "a rain jacket for less than one hundred and fifty dollars",
        "budget",
        kind("Rain Jacket") & at_most(150),
        category("jackets") & attribute("waterproof", "true") & at_most(150),
    ),
    Q(
        "wireless earbuds under seventy bucks",
        "budget",
        kind("Wireless Earbuds") & at_most(70),
        kind("Sport Earbuds") & BLUETOOTH & at_most(70),
    ),
    Q(
        "a french press that costs less than forty dollars",
        "budget",
        kind("French Press") & at_most(40),
        kind("Pour-Over Dripper") & at_most(40),
    ),
    Q(
        "a gift for a coffee lover that costs no more than twenty dollars",
        "budget",
        category("coffee") & at_most(20),
        kind("Insulated Travel Mug") & at_most(20),
    ),
    Q(
        "a two person tent for at most two hundred dollars",
        "budget",
        kind("Two-Person Tent") & at_most(200),
        category("camping") & kind("Sleeping Bag", "Inflatable Sleeping Pad") & at_most(200),
    ),
    Q(
        "kids headphones around thirty dollars",
        "budget",
        kind("Kids' Headphones") & between(20, 40),
        kind("Kids' Headphones") & at_most(50),
    ),
    Q(
        "a cheap mechanical keyboard, under a hundred and twenty",
        "budget",
        kind("Mechanical Keyboard") & at_most(120),
    ),
    Q("yoga mat for under fifty dollars", "budget", kind("Yoga Mat") & at_most(50), kind("Foam Roller") & at_most(50)),
    Q(
        "noise cancelling headphones no more than two hundred dollars",
        "budget",
        ANC & at_most(200),
        kind("Wireless Earbuds") & at_most(200),
    ),
    # --- needs in other words -------------------------------------------------------------------------------
    Q(
        "something to carry water and snacks on a day in the hills",
        "paraphrase",
        kind("Daypack", "Hiking Pack"),
        BACKPACKS,
    ),
    Q("smart shoes to wear to the office with a suit", "paraphrase", kind("Leather Loafer")),
    Q("a holder for my phone while i am driving", "paraphrase", kind("Car Phone Mount")),
    Q(
        "charge my phone by just laying it down, no cable",
        "paraphrase",
        kind("Wireless Charging Pad"),
        kind("Power Bank", "Fast Charger"),
    ),
    Q("a kitchen machine that kneads bread dough for me", "paraphrase", kind("Stand Mixer")),
    Q("grind my coffee beans fresh every morning", "paraphrase", kind("Burr Grinder")),
    Q("roll out sore legs after a long run", "paraphrase", kind("Foam Roller"), kind("Resistance Band Set")),
    Q(
        "weights for home where i can change how heavy they are",
        "paraphrase",
        kind("Adjustable Dumbbells"),
        kind("Resistance Band Set"),
    ),
    Q("a band on my wrist that counts my heart rate and sleep", "paraphrase", kind("Fitness Tracker")),
    Q("protect my phone when i drop it", "paraphrase", kind("Phone Case")),
    Q("a bedtime story for a toddler", "paraphrase", kind("Children's Picture Book")),
    Q("a whodunit to read on the train", "paraphrase", kind("Mystery Novel"), kind("Science Fiction Novel")),
    Q("cream for very dry skin without any perfume", "paraphrase", kind("Moisturising Cream")),
    Q(
        "keep my face from burning at the beach",
        "paraphrase",
        kind("Mineral Sunscreen SPF 50"),
        kind("Moisturising Cream"),
    ),
    Q("trim the rose bushes in my garden", "paraphrase", kind("Pruning Shears")),
    Q("a light for reading in my tent at night", "paraphrase", kind("Headlamp")),
    Q("cook a hot dinner on a camping trip", "paraphrase", kind("Camping Stove")),
    Q(
        "something soft to sleep on instead of the hard ground",
        "paraphrase",
        kind("Inflatable Sleeping Pad"),
        kind("Sleeping Bag"),
    ),
    # --- typos -------------------------------------------------------------------------------------------------
    Q("noise cancelling hedphones", "typo", ANC, kind("Wireless Earbuds", "Studio Monitor Headphones")),
    Q("backpak for laptop", "typo", kind("Daypack", "Commuter Backpack"), BACKPACKS),
    Q("expresso machine", "typo", kind("Espresso Machine"), kind("Burr Grinder")),
    Q("sleping bag", "typo", kind("Sleeping Bag"), kind("Inflatable Sleeping Pad")),
    Q("trial running shoes", "typo", TRAIL, RUNNING),
    Q("mechanical keybord", "typo", kind("Mechanical Keyboard")),
    Q("adjustible dumbells", "typo", kind("Adjustable Dumbbells")),
    Q("sunscrean spf 50", "typo", kind("Mineral Sunscreen SPF 50"), kind("Moisturising Cream")),
    # --- terse lists ---------------------------------------------------------------------------------------
    Q(
        "tent sleeping bag stove",
        "list",
        kind("Two-Person Tent", "Sleeping Bag", "Camping Stove"),
        category("camping"),
    ),
    Q(
        "yoga mat, resistance bands, foam roller",
        "list",
        kind("Yoga Mat", "Resistance Band Set", "Foam Roller"),
        category("fitness"),
    ),
    Q(
        "knife cutting board skillet",
        "list",
        kind("Chef's Knife", "Cutting Board", "Cast Iron Skillet"),
        kind("Nonstick Frying Pan"),
    ),
    Q(
        "dripper kettle grinder",
        "list",
        kind("Pour-Over Dripper", "Gooseneck Kettle", "Burr Grinder"),
        category("coffee"),
    ),
    Q("hose, watering can, shears", "list", kind("Garden Hose", "Watering Can", "Pruning Shears"), category("garden")),
    Q("puzzle board game family night", "list", kind("Jigsaw Puzzle", "Board Game"), category("toys")),
    Q(
        "charger cable power bank",
        "list",
        kind("Fast Charger", "Braided USB-C Cable", "Power Bank"),
        kind("Wireless Charging Pad"),
    ),
    # --- option values: sizes and colours ------------------------------------------------------------------
    Q("running shoes size 42", "option", RUNNING & size("42"), TRAIL & size("42")),
    Q("navy rain jacket", "option", kind("Rain Jacket") & color("navy"), kind("Rain Jacket")),
    Q(
        "red travel mug",
        "option",
        kind("Insulated Travel Mug") & color("red"),
        kind("Insulated Travel Mug"),
    ),
    Q(
        "women's hiking boots size 38",
        "option",
        BOOTS & FOR_WOMEN & size("38"),
        (BOOTS & size("38")) | (TRAIL & FOR_WOMEN & size("38")),
    ),
    Q(
        "black down parka in xl",
        "option",
        kind("Down Parka") & color("black") & size("XL"),
        kind("Down Parka") & (color("black") | size("XL")),
    ),
    Q(
        "white canvas sneakers size 40",
        "option",
        SNEAKERS & color("white") & size("40"),
        SNEAKERS & size("40"),
    ),
    Q(
        "yellow softshell jacket size m",
        "option",
        kind("Softshell Jacket") & color("yellow") & size("M"),
        kind("Softshell Jacket") & size("M"),
    ),
    Q("pink wireless earbuds", "option", EARBUDS & color("pink"), EARBUDS),
    Q("men's trail running shoes 43", "option", TRAIL & FOR_MEN & size("43"), (TRAIL | RUNNING) & size("43")),
    Q(
        "olive fleece or softshell, size l",
        "option",
        kind("Fleece Jacket", "Softshell Jacket") & color("olive") & size("L"),
        kind("Fleece Jacket", "Softshell Jacket") & size("L"),
    ),
    # --- attributes in plain words -------------------------------------------------------------------------
    Q("hardcover cookbook", "short", kind("Cookbook") & attribute("format", "hardcover"), kind("Cookbook")),
    Q(
        "dark roast coffee beans",
        "short",
        kind("Whole Bean Coffee") & attribute("roast", "dark"),
        kind("Whole Bean Coffee"),
    ),
    Q(
        "bluetooth headphones with a battery that lasts all week",
        "long",
        category("headphones") & BLUETOOTH & number("battery_hours", low=40),
        category("headphones") & BLUETOOTH & number("battery_hours", low=20),
    ),
    Q(
        "a big backpack for treks of several days, 35 litres or more",
        "long",
        kind("Hiking Pack") & number("capacity_l", low=35),
        (BACKPACKS & ~kind("Kids' School Bag") & number("capacity_l", low=35)) | kind("Hiking Pack"),
    ),
    Q(
        "toys for a three year old",
        "paraphrase",
        category("toys") & min_age("3+"),
        category("toys") & min_age("4+"),
    ),
)


def demo_items(count: int = 600, seed: int = 7) -> list[Item]:
    """The demo catalog's products (the ones `python -m services.catalog demo` prints) as the rules read them."""
    return [item(product) for product in demo.generate(count, seed=seed)]
