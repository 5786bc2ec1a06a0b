"""The closed vocabularies of the product profile (contract section 1).

Each feature carries the phrases the engine uses to explain itself: ``present`` when the
product has it, ``absent`` when a requirement is set aside because it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Material:
    name: str
    description: str


@dataclass(frozen=True)
class Feature:
    name: str
    present: str
    absent: str
    section: str | None = None
    params: dict[str, tuple[str, ...] | type] = field(default_factory=dict)


MATERIALS: dict[str, Material] = {
    m.name: m
    for m in (
        Material("wood_unfinished", "untreated, uncoated trunk wood"),
        Material("wood_finished", "stained, varnished or treated wood"),
        Material("engineered_wood_unfinished", "untreated particleboard, hardwood plywood, MDF"),
        Material("paper", "paper, paperboard"),
        Material("textile_natural", "natural-fibre textile"),
        Material("textile_synthetic", "manufactured-fibre textile"),
        Material("plastic_pp", "polypropylene"),
        Material("plastic_pe", "polyethylene"),
        Material("plastic_ps", "polystyrene"),
        Material("plastic_abs", "acrylonitrile butadiene styrene"),
        Material("plastic_pvc", "polyvinyl chloride"),
        Material("plastic_other", "other plastic"),
        Material("rubber", "rubber"),
        Material("silicone", "silicone"),
        Material("metal", "metal"),
        Material("stainless_steel", "stainless steel"),
        Material("precious_metal", "precious metal"),
        Material("glass", "glass"),
        Material("ceramic", "ceramic"),
        Material("surface_coating", "paint, lacquer, varnish or other coating"),
        Material("ink_cmyk", "CMYK process ink that is part of the substrate"),
        Material("ink_other", "other ink"),
        Material("stuffing", "stuffing"),
        Material("foam", "foam"),
        Material("fluid", "liquid, paste, putty, gel or powder"),
        Material("modeling_clay", "modeling clay"),
        # Extension: crayon wax (paraffin, beeswax and the like); no Commission determination
        # exempts it, so it is tested for lead and phthalates like any other substrate.
        Material("wax", "wax, e.g. crayon wax (paraffin, beeswax)"),
        Material("magnet_material", "magnet"),
        Material("electronics", "electronics"),
        Material("natural_other", "untreated plant or animal material, gemstone"),
    )
}

_SOUND_KINDS = ("close_to_ear", "hand_held", "tabletop_floor_crib", "push_pull", "other")
_CELLS = ("button", "coin", "cylindrical", "lithium_ion", "other")


def _f(
    name: str,
    present: str,
    absent: str,
    section: str | None = None,
    **params: tuple[str, ...] | type,
) -> Feature:
    return Feature(name, present, absent, section, dict(params))


FEATURES: dict[str, Feature] = {
    f.name: f
    for f in (
        _f(
            "sound",
            "the product produces sound",
            "the product produces no sound",
            "4.5",
            kind=_SOUND_KINDS,
        ),
        _f(
            "battery",
            "battery-operated",
            "the product has no battery",
            "4.25",
            cell=_CELLS,
            replaceable=bool,
        ),
        _f("magnet", "contains magnets", "the product has no magnet", "4.38"),
        _f("projectile", "projectile toy", "the product launches no projectile", "4.21"),
        _f("stuffed", "stuffed or beanbag toy", "the product is not stuffed or a beanbag", "4.27"),
        _f(
            "fluid",
            "contains a liquid, paste, putty, gel or powder",
            "the product contains no liquid, paste, putty, gel or powder",
            "4.3.6",
        ),
        _f("cosmetic", "toy cosmetic", "the product is not a toy cosmetic"),
        _f(
            "expanding_material",
            "contains expanding material",
            "the product has no expanding material",
            "4.40",
        ),
        _f("water_beads", "contains water beads", "the product has no water beads"),
        _f("toy_chest", "toy chest", "the product is not a toy chest", "4.41"),
        _f(
            "yoyo_elastic_tether",
            "yo-yo elastic tether toy",
            "the product is not a yo-yo elastic tether toy",
            "4.37",
        ),
        _f("pompom", "has pompoms", "the product has no pompom", "4.35"),
        _f(
            "hemispheric_object",
            "has a cup, bowl or half-egg shaped part",
            "the product has no hemispheric-shaped object",
            "4.36",
        ),
        _f(
            "spherical_ends",
            "has nearly spherical or flared ends",
            "the product has no spherical or flared ends",
            "4.32",
        ),
        _f("rattle", "rattle", "the product is not a rattle", "4.23.1"),
        _f("teether", "teether or teething toy", "the product is not a teether", "4.22"),
        _f("squeeze_toy", "squeeze toy", "the product is not a squeeze toy", "4.24"),
        _f("pacifier", "pacifier", "the product is not a pacifier"),
        _f("toy_pacifier", "toy pacifier", "the product is not a toy pacifier", "4.20.2"),
        _f(
            "crib_playpen_toy",
            "attached to a crib or playpen",
            "the product is not attached to a crib or playpen",
            "4.26",
        ),
        _f(
            "stroller_toy",
            "attached to a stroller or carriage",
            "the product is not attached to a stroller or carriage",
            "4.28",
        ),
        _f(
            "handle_or_steering_wheel",
            "has handles or a steering wheel",
            "the product has no handle or steering wheel",
            "4.39",
        ),
        _f("toy_gun", "toy gun", "the product is not a toy gun", "4.30"),
        _f("wheels", "has wheels", "the product has no wheels", "4.17"),
        _f(
            "folding_mechanism",
            "has a folding mechanism or hinge",
            "the product has no folding mechanism or hinge",
            "4.13",
        ),
        _f(
            "cords_straps_elastics",
            "has cords, straps or elastics",
            "the product has no cord, strap or elastic",
            "4.14",
        ),
        _f("plastic_film", "has plastic film or bags", "the product has no plastic film", "4.12"),
        _f(
            "bendable_wires",
            "has bendable wires or rods",
            "the product has no bendable wire or rod",
            "4.10",
        ),
        _f(
            "nails_fasteners",
            "has nails or fasteners",
            "the product has no nail or fastener",
            "4.11",
        ),
        _f(
            "ride_on",
            "carries a child's weight",
            "the product does not carry a child's weight",
            "4.15",
        ),
        _f("enclosure", "a child can get inside", "no child can get inside the product", "4.16"),
        _f(
            "moving_mechanism",
            "has moving mechanisms",
            "the product has no moving mechanism",
            "4.18",
        ),
        _f(
            "simulated_protective_device",
            "simulates protective equipment",
            "the product simulates no protective equipment",
            "4.19",
        ),
        _f("bath_toy", "bath toy", "the product is not a bath toy"),
        _f(
            "mains_powered",
            "powered from 120 V mains",
            "the product is not powered from 120 V mains",
        ),
        _f("art_material", "art material", "the product is not an art material", "4.29"),
        _f(
            "latex_balloon",
            "latex balloon",
            "the product has no latex balloon",
            "4.31",
            whole_toy=bool,
        ),
        _f("marble", "marble", "the product has no marble", "4.33", whole_toy=bool),
        _f("small_ball", "small ball", "the product has no small ball", "4.34", whole_toy=bool),
        _f("heating_element", "has a heating element", "the product has no heating element", "4.4"),
        _f(
            "neck_float",
            "neck float (encircles a child's neck to float in water)",
            "the product is not a neck float",
        ),
        # Extensions: product types named by the 16 CFR 1501.3 exemptions.
        _f("book", "book or other paper article", "the product is not a book or paper article"),
        _f(
            "writing_material",
            "writing material (crayon, chalk, pencil, pen)",
            "the product is not a writing material",
        ),
        _f("modeling_clay", "modeling clay or similar product", "the product is not modeling clay"),
        _f(
            "paint_set",
            "finger paint, watercolor or other paint set",
            "the product is not a paint set",
        ),
    )
}

#: Features that put a part in a child's mouth by design.
MOUTHING_FEATURES = frozenset(
    {"teether", "pacifier", "toy_pacifier", "cosmetic", "writing_material"}
)

#: Manufactured fibres named in the Commission's determinations (16 CFR 1253.2).
FIBERS = (
    "nylon",
    "spandex",
    "viscose_rayon",
    "acrylic",
    "modacrylic",
    "natural_rubber_latex",
    "polyester",
    "other",
)
