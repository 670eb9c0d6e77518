"""The demo catalog: realistic products generated from templates, the same on every run.

`python -m services.catalog demo > demo.yaml` writes it in the catalog import format (the format of
examples/catalog.yaml: `currency` and a list of products with sku, title, description, category, brand,
attributes, price_minor, stock, and for products sold in several forms their options and variants).
Generation is seeded, so SKUs are stable and an import stays idempotent.

What comes in forms does so as in a shop: shoes by EU size, the product's stock spread over the sizes (listed
variants, some sizes sold out); jackets by size and colour, every variant stocked alike (options only); travel
mugs by colour, the product's stock spread over the colours (listed variants). Everything else is sold in one
form. The forms are drawn from each product's own generator, so the same products come out of the seed as
before there were forms; only a product sold in several colours is named without one, and sizes are an option
rather than a `sizes` attribute.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kind:
    """One kind of product within a category: a name, the words that describe it and its price band."""

    name: str
    blurb: str
    price: tuple[int, int]  # whole currency units
    attributes: dict[str, list[Any]] = field(default_factory=dict)
    # The options it is sold in, in display order: SIZE (the sizes drawn for it) and COLOR (its colour and a
    # few more of the category's). Empty: one form.
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    slug: str
    prefix: str
    brands: tuple[str, ...]
    kinds: tuple[Kind, ...]
    qualities: tuple[str, ...]
    colors: tuple[str, ...] = ("black", "grey", "navy", "white")


SIZE = "size"
COLOR = "color"
SHOE_SIZES = [str(s) for s in range(36, 47)]  # EU
CLOTHING_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]

CATEGORIES: tuple[Category, ...] = (
    Category(
        "shoes",
        "SHO",
        ("Stride", "Pacer", "Ridgeway", "Northfold", "Urbanite"),
        (
            Kind(
                "Running Shoe",
                "a responsive foam midsole and a breathable mesh upper for road runs",
                (55, 160),
                forms=(SIZE,),
            ),
            Kind("Trail Runner", "a lugged outsole and a rock plate for rough, muddy paths", (80, 150), forms=(SIZE,)),
            Kind(
                "Hiking Boot",
                "a waterproof membrane and ankle support for day hikes and wet trails",
                (90, 210),
                forms=(SIZE,),
            ),
            Kind(
                "Canvas Sneaker",
                "a vulcanised rubber sole and a cushioned insole for everyday wear",
                (35, 80),
                forms=(SIZE,),
            ),
            Kind(
                "Leather Loafer",
                "a full-grain leather upper and a flexible sole for the office",
                (70, 180),
                forms=(SIZE,),
            ),
            Kind(
                "Slip-On Walking Shoe",
                "a knit upper and a memory-foam footbed for long walks",
                (45, 110),
                forms=(SIZE,),
            ),
        ),
        ("Lite", "Pro", "Everyday", "Classic", "Flex", "Storm"),
        ("black", "white", "blue", "red", "grey", "green", "brown"),
    ),
    Category(
        "jackets",
        "JKT",
        ("Northfold", "Summit & Co", "Harbor", "Alpenglow"),
        (
            Kind(
                "Rain Jacket",
                "a waterproof, breathable shell with taped seams and a packable hood",
                (60, 220),
                forms=(SIZE, COLOR),
            ),
            Kind("Down Parka", "goose-down fill and a storm flap for winter cities", (150, 420), forms=(SIZE, COLOR)),
            Kind("Fleece Jacket", "a soft recycled fleece that layers under a shell", (35, 95), forms=(SIZE, COLOR)),
            Kind(
                "Softshell Jacket",
                "a stretchy, wind-resistant fabric for hiking and cycling",
                (70, 180),
                forms=(SIZE, COLOR),
            ),
            Kind(
                "Insulated Vest",
                "lightweight synthetic insulation that packs into its own pocket",
                (45, 120),
                forms=(SIZE, COLOR),
            ),
            Kind(
                "Denim Jacket", "heavyweight cotton denim that softens with every wear", (50, 130), forms=(SIZE, COLOR)
            ),
        ),
        ("Packable", "Alpine", "City", "Trail", "Thermal", "Classic"),
        ("black", "navy", "olive", "red", "yellow", "grey"),
    ),
    Category(
        "backpacks",
        "BAG",
        ("Carryall", "Waypoint", "Summit & Co", "Metro"),
        (
            Kind("Daypack", "a padded laptop sleeve, side bottle pockets and a water-resistant base", (35, 110)),
            Kind("Hiking Pack", "an adjustable torso, hip belt and rain cover for long trail days", (90, 240)),
            Kind("Commuter Backpack", "a clamshell opening, hidden pockets and reflective details", (60, 160)),
            Kind("Rolltop Bag", "welded waterproof fabric and a roll closure for cycling in the rain", (70, 150)),
            Kind("Kids' School Bag", "a light frame, padded straps and a name tag", (25, 60)),
        ),
        ("20L", "28L", "35L", "Urban", "Trek", "Pro"),
        ("black", "grey", "navy", "green", "orange"),
    ),
    Category(
        "headphones",
        "AUD",
        ("Sonora", "Decibel", "Auralite", "Bassline"),
        (
            Kind(
                "Noise-Cancelling Headphones",
                "active noise cancelling, a 30-hour battery and soft cushions",
                (120, 380),
            ),
            Kind("Wireless Earbuds", "Bluetooth 5.3, a pocketable charging case and touch controls", (40, 230)),
            Kind("Sport Earbuds", "ear hooks, sweat resistance and a secure fit for workouts", (35, 140)),
            Kind("Studio Monitor Headphones", "a flat frequency response and a detachable cable for mixing", (90, 300)),
            Kind("Kids' Headphones", "a volume limit of 85 dB and a bendable headband", (20, 50)),
        ),
        ("Air", "Max", "Pro", "Go", "Studio", "Mini"),
        ("black", "white", "silver", "blue", "pink"),
    ),
    Category(
        "phone-accessories",
        "PHN",
        ("Voltix", "Cablecraft", "Shieldline", "Juice"),
        (
            Kind("Fast Charger", "USB-C power delivery that charges a phone to 50% in 30 minutes", (15, 60)),
            Kind("Power Bank", "a 10,000 to 20,000 mAh cell and two outputs for a weekend away", (25, 90)),
            Kind("Phone Case", "raised edges, drop protection and a grippy finish", (12, 50)),
            Kind("Braided USB-C Cable", "a nylon braid that survives 20,000 bends", (8, 30)),
            Kind("Car Phone Mount", "a one-hand clamp that holds a phone on the dashboard", (15, 45)),
            Kind("Wireless Charging Pad", "Qi charging through most cases with a non-slip top", (18, 60)),
        ),
        ("Slim", "Max", "Duo", "Rugged", "Go", "Pro"),
        ("black", "white", "blue", "clear", "red"),
    ),
    Category(
        "kitchen",
        "KIT",
        ("Hearth", "Copperleaf", "Brisk", "Maison"),
        (
            Kind("Chef's Knife", "a forged stainless steel blade balanced for everyday chopping", (30, 160)),
            Kind("Cast Iron Skillet", "a pre-seasoned pan that goes from stove to oven", (25, 90)),
            Kind("Nonstick Frying Pan", "a PFAS-free ceramic coating and a cool-touch handle", (25, 80)),
            Kind(
                "Insulated Travel Mug",
                "double-wall vacuum steel that keeps drinks hot for 6 hours",
                (15, 45),
                forms=(COLOR,),
            ),
            Kind("Stand Mixer", "a 5-litre bowl, ten speeds and a dough hook", (150, 450)),
            Kind("Cutting Board", "end-grain hardwood that is kind to knife edges", (20, 70)),
            Kind("Food Storage Set", "glass containers with leak-proof lids, oven safe", (20, 60)),
        ),
        ("Pro", "Classic", "Home", "Chef", "Everyday", "Signature"),
        ("black", "silver", "red", "white", "green"),
    ),
    Category(
        "coffee",
        "COF",
        ("Morning Ritual", "Crema", "Roastery Nine", "Bean & Leaf"),
        (
            Kind("Whole Bean Coffee", "single-origin beans roasted in small batches", (10, 30)),
            Kind("Pour-Over Dripper", "a ceramic cone for a clean, bright cup", (18, 45)),
            Kind("French Press", "a borosilicate glass carafe and a fine steel mesh filter", (20, 60)),
            Kind("Burr Grinder", "conical steel burrs with 30 grind settings", (45, 220)),
            Kind("Espresso Machine", "a 15-bar pump and a steam wand for milk drinks", (180, 650)),
            Kind("Gooseneck Kettle", "precise pouring and temperature control for pour-over", (35, 120)),
        ),
        ("Ethiopia", "Colombia", "House Blend", "Dark", "Barista", "Compact"),
        ("black", "white", "silver", "copper"),
    ),
    Category(
        "books",
        "BOK",
        ("Lighthouse Press", "Northwind Books", "Paper Crane", "Atlas House"),
        (
            Kind("Science Fiction Novel", "a paperback about a generation ship and the people born on it", (9, 25)),
            Kind("Cookbook", "120 weeknight recipes with photographs and a shopping-list index", (18, 40)),
            Kind("Running Guide", "training plans from the first 5K to the marathon", (14, 30)),
            Kind("Mystery Novel", "a detective story set in a snowed-in mountain hotel", (9, 22)),
            Kind("Children's Picture Book", "a bedtime story with full-colour illustrations", (7, 18)),
            Kind("Programming Handbook", "practical chapters on writing clean, tested Python", (25, 55)),
        ),
        ("Hardcover", "Paperback", "Illustrated", "Second Edition", "Pocket", "Collector's"),
        ("multicolor",),
    ),
    Category(
        "toys",
        "TOY",
        ("Playwell", "Tiny Builders", "Wonderbox", "Kite & Co"),
        (
            Kind("Building Blocks Set", "interlocking bricks in bright colours for ages 4 and up", (20, 90)),
            Kind("Wooden Train Set", "beech-wood tracks, a bridge and three magnetic wagons", (30, 110)),
            Kind("Plush Bear", "a soft, washable teddy with embroidered eyes", (12, 40)),
            Kind("Remote Control Car", "rechargeable, all-terrain tyres and a 2.4 GHz remote", (30, 120)),
            Kind("Jigsaw Puzzle", "1,000 thick pieces and a poster of the picture", (12, 30)),
            Kind("Board Game", "a family strategy game for 2 to 5 players", (20, 60)),
        ),
        ("Junior", "Deluxe", "Classic", "Mini", "Adventure", "Starter"),
        ("red", "blue", "yellow", "green", "brown"),
    ),
    Category(
        "home-office",
        "OFF",
        ("Deskwise", "Ergon", "Lumen", "Paperline"),
        (
            Kind("Ergonomic Office Chair", "adjustable lumbar support and a breathable mesh back", (150, 600)),
            Kind("Standing Desk", "a dual-motor frame that rises from sitting to standing height", (250, 800)),
            Kind("LED Desk Lamp", "dimmable warm to cool light and a USB charging port", (25, 90)),
            Kind("Mechanical Keyboard", "hot-swappable switches and a compact 75% layout", (60, 200)),
            Kind("Monitor Arm", "a gas spring that holds screens up to 32 inches", (40, 150)),
            Kind("Notebook Set", "dotted A5 notebooks with lay-flat binding", (10, 30)),
        ),
        ("Pro", "Compact", "Studio", "Classic", "Air", "Plus"),
        ("black", "white", "grey", "oak"),
    ),
    Category(
        "camping",
        "CMP",
        ("Summit & Co", "Wildtrail", "Campfire", "Alpenglow"),
        (
            Kind("Two-Person Tent", "a freestanding frame, a full rain fly and two doors", (90, 380)),
            Kind("Sleeping Bag", "a mummy shape and synthetic fill rated to -5 °C", (50, 250)),
            Kind("Camping Stove", "a compact gas burner that boils a litre in three minutes", (30, 120)),
            Kind("Headlamp", "400 lumens, a red night mode and a rechargeable battery", (15, 60)),
            Kind("Inflatable Sleeping Pad", "an insulated air pad that packs to the size of a bottle", (40, 180)),
            Kind("Water Filter", "a squeeze filter that removes bacteria and protozoa", (20, 60)),
        ),
        ("Ultralight", "Basecamp", "Trek", "Compact", "Four-Season", "Explorer"),
        ("green", "orange", "grey", "blue"),
    ),
    Category(
        "beauty",
        "BTY",
        ("Glowry", "Pure Botanica", "Velvet Lab", "Dew & Co"),
        (
            Kind("Moisturising Cream", "hyaluronic acid and ceramides for dry skin, fragrance free", (12, 60)),
            Kind("Vitamin C Serum", "a 15% vitamin C serum that brightens dull skin", (15, 70)),
            Kind("Mineral Sunscreen SPF 50", "a zinc-based, reef-friendly daily sunscreen", (12, 40)),
            Kind("Shampoo Bar", "a plastic-free solid shampoo for normal hair", (8, 20)),
            Kind("Lip Balm Set", "shea butter balms in three tints", (6, 18)),
            Kind("Hair Dryer", "an ionic dryer with three heat settings and a diffuser", (35, 200)),
        ),
        ("Daily", "Night", "Sensitive", "Travel Size", "Rich", "Light"),
        ("white", "pink", "green", "gold"),
    ),
    Category(
        "fitness",
        "FIT",
        ("Ironclad", "Flowfit", "Pulse", "Corestrong"),
        (
            Kind("Yoga Mat", "a 6 mm natural rubber mat with a grippy, sweat-resistant top", (25, 90)),
            Kind("Adjustable Dumbbells", "a dial that changes the weight from 2 to 24 kg", (120, 400)),
            Kind("Resistance Band Set", "five latex bands, handles and a door anchor", (15, 45)),
            Kind("Foam Roller", "a firm textured roller for recovery after runs", (15, 50)),
            Kind("Jump Rope", "ball bearings and an adjustable steel cable", (8, 30)),
            Kind("Fitness Tracker", "heart rate, sleep tracking and a 7-day battery", (40, 180)),
        ),
        ("Pro", "Home", "Studio", "Travel", "Elite", "Basic"),
        ("black", "purple", "blue", "teal", "pink"),
    ),
    Category(
        "garden",
        "GRD",
        ("Greenthumb", "Bloomfield", "Terra", "Rootstock"),
        (
            Kind("Pruning Shears", "hardened steel bypass blades for clean cuts on live stems", (15, 50)),
            Kind("Garden Hose", "a kink-free 30-metre hose with a seven-pattern nozzle", (30, 90)),
            Kind("Raised Garden Bed", "galvanised steel panels for vegetables and herbs", (50, 180)),
            Kind("Watering Can", "a 9-litre can with a long spout and a brass rose", (18, 60)),
            Kind("Solar Path Lights", "a set of eight lights that switch on at dusk", (20, 70)),
            Kind("Herb Seed Kit", "basil, parsley, chives and coriander with peat-free pots", (10, 30)),
        ),
        ("Classic", "Pro", "Compact", "Deluxe", "Eco", "Heavy-Duty"),
        ("green", "black", "terracotta", "grey"),
    ),
)

MATERIALS: dict[str, tuple[str, ...]] = {
    "shoes": ("mesh", "leather", "knit", "canvas", "suede"),
    "jackets": ("nylon", "polyester", "recycled polyester", "cotton", "down"),
    "backpacks": ("nylon", "recycled polyester", "canvas", "tarpaulin"),
    "kitchen": ("stainless steel", "cast iron", "ceramic", "wood", "glass"),
    "home-office": ("steel", "aluminium", "oak", "mesh"),
    "camping": ("ripstop nylon", "aluminium", "polyester"),
    "fitness": ("natural rubber", "steel", "latex", "foam"),
    "garden": ("steel", "galvanised steel", "plastic", "brass"),
}

GENDERED = {"shoes", "jackets"}


def _attributes(category: Category, rng: random.Random, color: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"color": color}
    if category.slug in MATERIALS:
        attributes["material"] = rng.choice(MATERIALS[category.slug])
    if category.slug == "shoes":
        low = rng.randint(36, 40)
        attributes["sizes"] = SHOE_SIZES[low - 36 : low - 36 + rng.randint(5, 8)]
    elif category.slug == "jackets":
        attributes["sizes"] = CLOTHING_SIZES[rng.randint(0, 1) : rng.randint(4, 6)]
        attributes["waterproof"] = rng.random() < 0.5
    elif category.slug == "backpacks":
        attributes["capacity_l"] = rng.choice([15, 20, 24, 28, 32, 35, 45, 60])
    elif category.slug == "headphones":
        attributes["connectivity"] = rng.choice(["bluetooth", "wired", "bluetooth + wired"])
        attributes["battery_hours"] = rng.choice([8, 20, 30, 40, 60])
    elif category.slug == "coffee":
        attributes["roast"] = rng.choice(["light", "medium", "dark"])
    elif category.slug == "books":
        attributes["format"] = rng.choice(["paperback", "hardcover"])
        attributes["pages"] = rng.randint(120, 640)
    elif category.slug == "toys":
        attributes["age"] = rng.choice(["3+", "4+", "6+", "8+", "12+"])
    if category.slug in GENDERED:
        attributes["gender"] = rng.choice(["unisex", "unisex", "women", "men"])
    return attributes


def _price_minor(kind: Kind, rng: random.Random) -> int:
    low, high = kind.price
    whole = rng.randint(low, high)
    return whole * 100 + rng.choice([0, 49, 50, 95, 99])


def generate(count: int = 600, *, seed: int = 7) -> list[dict[str, Any]]:
    """`count` products spread evenly over every category; the same seed gives the same catalog."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    products: list[dict[str, Any]] = []
    seen_titles: set[str] = set()
    shown_titles: set[str] = set()
    per_category = [0] * len(CATEGORIES)
    index = 0
    while len(products) < count:
        position = index % len(CATEGORIES)
        category = CATEGORIES[position]
        index += 1
        kind = rng.choice(category.kinds)
        brand = rng.choice(category.brands)
        quality = rng.choice(category.qualities)
        color = rng.choice(category.colors)
        name = f"{brand} {quality} {kind.name}"
        title = name
        if category.colors != ("multicolor",):
            title = f"{title} - {color.title()}"
        if title in seen_titles:
            continue
        seen_titles.add(title)
        per_category[position] += 1
        attributes = _attributes(category, rng, color)
        stock = 0 if rng.random() < 0.06 else rng.choice([2, 3, 5, 8, 12, 20, 35, 60, 120])
        # Sold in several colours, the product is named without one; a second product of that name is a
        # colourway of its own, sold in its colour only.
        in_colors = COLOR in kind.forms and name not in shown_titles
        product: dict[str, Any] = {
            "sku": f"{category.prefix}-{per_category[position]:04d}",
            "title": name if in_colors else title,
            "description": f"The {quality} {kind.name.lower()} from {brand}: {kind.blurb}.",
            "category": category.slug,
            "brand": brand,
            "attributes": attributes,
            "price_minor": _price_minor(kind, rng),
            "stock": stock,
        }
        shown_titles.add(product["title"])
        product.update(_forms(category, kind, product, in_colors=in_colors, seed=seed))
        products.append(product)
    return products


# Where the variants are listed, the product's stock is spread over them (a sold-out product stays sold out);
# otherwise every combination of the options gets the product's stock.
LISTED_VARIANTS = frozenset({"shoes", "kitchen"})


def _forms(category: Category, kind: Kind, product: dict[str, Any], *, in_colors: bool, seed: int) -> dict[str, Any]:
    """The options (and listed variants) of a product sold in several forms; nothing for one sold in one form.
    The size option takes the sizes drawn as the `sizes` attribute, which it replaces; the colour option starts
    with the product's colour, which stays its `color` attribute (the colour pictured). Drawn from the product's
    own generator, so the rest of the catalog does not depend on them."""
    rng = random.Random(f"{seed}:{product['sku']}")  # noqa: S311 - demo data, not security
    attributes = product["attributes"]
    options: dict[str, list[str]] = {}
    if SIZE in kind.forms:
        options[SIZE] = attributes.pop("sizes")
    if in_colors:
        others = [other for other in category.colors if other != attributes["color"]]
        options[COLOR] = [attributes["color"], *rng.sample(others, rng.randint(1, min(3, len(others))))]
    if not options:
        return {}
    if category.slug not in LISTED_VARIANTS:
        return {"options": options}
    combinations = [dict(zip(options, values, strict=True)) for values in itertools.product(*options.values())]
    stocks = [0] * len(combinations)
    # Unit by unit, the middle of a size run the likeliest: the edges sell out first.
    weights = [1 + min(position, len(stocks) - 1 - position) for position in range(len(stocks))]
    for chosen in rng.choices(range(len(stocks)), weights=weights, k=product["stock"]):
        stocks[chosen] += 1
    variants = [
        {"sku": "-".join([product["sku"], *map(_sku_part, values.values())]), "values": values, "stock": stock}
        for values, stock in zip(combinations, stocks, strict=True)
    ]
    return {"options": options, "variants": variants}


def _sku_part(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", value).strip("-").upper()


def catalog_document(count: int = 600, *, seed: int = 7) -> dict[str, Any]:
    """The demo catalog as the import format's document."""
    return {"currency": "USD", "products": generate(count, seed=seed)}
