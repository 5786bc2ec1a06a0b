"""Reading marketplace listing files: Amazon reports, flat files, plain CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from toysafe.io.errors import InputError
from toysafe.io.listings import read_listings, read_listings_file

# The All Listings Report (Seller Central > Reports > Inventory), columns in Amazon's order.
REPORT_COLUMNS = (
    "item-name item-description listing-id seller-sku price quantity open-date image-url "
    "item-is-marketplace product-id-type zshop-shipping-fee item-note item-condition "
    "zshop-category1 zshop-browse-path zshop-storefront-feature asin1 asin2 asin3 "
    "will-ship-internationally expedited-shipping zshop-boldface product-id "
    "bid-for-featured-placement add-delete pending-quantity fulfillment-channel "
    "merchant-shipping-group status"
).split()


def report(*rows: dict[str, str], eol: str = "\r\n") -> str:
    """A tab-delimited report: the header, then one line per row (absent columns empty)."""
    lines = ["\t".join(REPORT_COLUMNS)]
    lines += ["\t".join(row.get(c, "") for c in REPORT_COLUMNS) for row in rows]
    return eol.join(lines) + eol


def report_row(
    name: str, sku: str, asin: str, status: str = "Active", **more: str
) -> dict[str, str]:
    return {
        "item-name": name,
        "listing-id": "0512X7QK3ZD",
        "seller-sku": sku,
        "price": "24.99",
        "quantity": "",
        "open-date": "2024-03-14 10:22:01 PDT",
        "item-is-marketplace": "y",
        "product-id-type": "1",
        "item-condition": "11",
        "asin1": asin,
        "product-id": asin,
        "fulfillment-channel": "AMAZON_NA",
        "merchant-shipping-group": "Migrated Template",
        "status": status,
        **more,
    }


def listing(
    sku: str, asin: str, title: str | None, status: str | None, mp: str = "amazon.com"
) -> dict[str, str | None]:
    return {"marketplace": mp, "listing_id": asin, "sku": sku, "title": title, "status": status}


def errors_of(text: str, source: str = "listings.txt") -> list[str]:
    with pytest.raises(InputError) as e:
        read_listings(text, source)
    return str(e.value).split("\n")


# --- formats ---------------------------------------------------------------------------------


def test_all_listings_report() -> None:
    text = report(
        report_row("Wooden Rainbow Stacker, 7 pieces", "WR-STACK-07", "B0C1K2M3N4"),
        report_row('12" Plush Teddy Bear', "PLUSH-12", "B09XYZ1234", "Inactive"),
        report_row('"Squishy" Slime Kit', "SLIME-01", "B08ABCDEF9", "Incomplete"),
        report_row(
            "Magnetic Tiles 60 pcs",
            "MAG-60-FBM",
            "B0D5T6U7V8",
            **{"product-id-type": "4", "product-id": "0850012345678"},
            **{"fulfillment-channel": "DEFAULT"},
        ),
    )
    assert read_listings(text, "All+Listings+Report.txt") == [
        listing("WR-STACK-07", "B0C1K2M3N4", "Wooden Rainbow Stacker, 7 pieces", "Active"),
        listing("PLUSH-12", "B09XYZ1234", '12" Plush Teddy Bear', "Inactive"),
        listing("SLIME-01", "B08ABCDEF9", '"Squishy" Slime Kit', "Incomplete"),
        listing("MAG-60-FBM", "B0D5T6U7V8", "Magnetic Tiles 60 pcs", "Active"),
    ]


def test_active_listings_report_without_status_and_with_blank_lines() -> None:
    header = "item-name\titem-description\tlisting-id\tseller-sku\tprice\tquantity\tasin1\n"
    text = (
        header
        + "Toy Xylophone\t\t0101AB12CD3\tXYLO-8\t19.99\t40\tb07q5rx2ld\n"
        + "\n"
        + "\t\t\t\t\t\t\n"
        + "Shape Sorter\t\t0101AB12CD4\tSORT-1\t14.50\t12\tB07Q5RX2LE\n"
    )
    assert read_listings(text, "Active+Listings+Report.txt", "amazon.com") == [
        listing("XYLO-8", "B07Q5RX2LD", "Toy Xylophone", None),
        listing("SORT-1", "B07Q5RX2LE", "Shape Sorter", None),
    ]


FLAT_FILE = (
    "TemplateType=fptcustom\tVersion=2023.0914\tTemplateSignature=VE9ZUw==\t"
    "The top 3 rows are for Amazon.com use only. Do not modify or delete the top 3 rows.\n"
    "Product Type\tSeller SKU\tBrand Name\tProduct Name\tProduct ID\tProduct ID Type\t"
    "Item Type Keyword\tStandard Price\tQuantity\n"
    "feed_product_type\titem_sku\tbrand_name\titem_name\texternal_product_id\t"
    "external_product_id_type\titem_type\tstandard_price\tquantity\n"
    "toysandgames\tDINO-PUZ-48\tTinyTrex\tTinyTrex Dinosaur Floor Puzzle, 48 Pieces\t"
    "B0CDINO048\tASIN\tfloor-puzzles\t21.99\t35\n"
    "toysandgames\tDINO-PUZ-24\tTinyTrex\tTinyTrex Dinosaur Floor Puzzle, 24 Pieces\t"
    "b0cdino024\tasin\tfloor-puzzles\t15.99\t50\n"
)


def test_flat_file_with_template_and_label_rows() -> None:
    assert read_listings(FLAT_FILE, "Toys.txt") == [
        listing("DINO-PUZ-48", "B0CDINO048", "TinyTrex Dinosaur Floor Puzzle, 48 Pieces", None),
        listing("DINO-PUZ-24", "B0CDINO024", "TinyTrex Dinosaur Floor Puzzle, 24 Pieces", None),
    ]


def test_flat_file_csv_with_one_metadata_row_and_marketplace_column() -> None:
    text = (
        "TemplateType=fptcustom,Version=2023.0914,TemplateSignature=VE9ZUw==\n"
        "item_sku,item_name,external_product_id,external_product_id_type,"
        "merchant_suggested_asin,status,marketplace\n"
        'KITE-DELTA,"Delta Kite, 48""",B0KITE0001,ASIN,,Active,\n'
        "KITE-BOX,Box Kite,036000291452,UPC,B0KITE0002,Active,Amazon.CA\n"
    )
    assert read_listings(text, "kites.csv") == [
        listing("KITE-DELTA", "B0KITE0001", 'Delta Kite, 48"', "Active"),
        listing("KITE-BOX", "B0KITE0002", "Box Kite", "Active", "amazon.ca"),
    ]


def test_plain_csv() -> None:
    text = (
        "SKU,ASIN,Title,Status,Marketplace\r\n"
        "BLK-100,B01BLOCK00,Building Blocks 100,Active,\r\n"
        'BLK-200,b01block01,"Blocks, 200 pieces",,amazon.co.uk\r\n'
        "BLK-300, B01BLOCK02 ,,,\r\n"
    )
    assert read_listings(text, "mine.csv", "amazon.de") == [
        listing("BLK-100", "B01BLOCK00", "Building Blocks 100", "Active", "amazon.de"),
        listing("BLK-200", "B01BLOCK01", "Blocks, 200 pieces", None, "amazon.co.uk"),
        listing("BLK-300", "B01BLOCK02", None, None, "amazon.de"),
    ]


def test_minimal_csv_and_header_only() -> None:
    assert read_listings("sku,asin\nA-1,B000000001\n", "x.csv") == [
        listing("A-1", "B000000001", None, None)
    ]
    assert read_listings("seller-sku\tasin1\n", "empty.txt") == []


def test_tab_file_cells_quoted_by_excel_are_unquoted() -> None:
    text = 'item_sku\titem_name\tasin\n"CAR-01"\t"Race Car, 1:24 ""Turbo"""\tB0CAR00001\n'
    assert read_listings(text, "x.txt") == [
        listing("CAR-01", "B0CAR00001", 'Race Car, 1:24 "Turbo"', None)
    ]


@pytest.mark.parametrize("id_type", ["1", "ASIN", "asin", " ASIN "])
def test_product_id_is_the_asin_when_its_type_says_so(id_type: str) -> None:
    text = f"seller-sku\tproduct-id-type\tproduct-id\nYOYO-1\t{id_type}\tB0YOYO0001\n"
    assert read_listings(text, "x.txt") == [listing("YOYO-1", "B0YOYO0001", None, None)]


@pytest.mark.parametrize(("id_type", "name"), [("2", "ISBN"), ("3", "UPC"), ("4", "EAN")])
def test_product_id_of_another_type_is_no_asin(id_type: str, name: str) -> None:
    text = f"seller-sku\tproduct-id-type\tproduct-id\nYOYO-1\t{id_type}\t0850012345678\n"
    assert errors_of(text) == [
        f"listings.txt line 2: product-id-type: '{id_type}' is not ASIN, so the row has no ASIN"
    ]


def test_asin1_wins_over_product_id_and_product_id_fills_a_blank_asin1() -> None:
    text = (
        "seller-sku\tproduct-id-type\tproduct-id\tasin1\n"
        "A\t4\t0850012345678\tB0AAAAAAA1\n"
        "B\t1\tB0BBBBBBB1\t\n"
        "C\t1\tB0CCCCCCC9\tB0CCCCCCC1\n"
    )
    assert [r["listing_id"] for r in read_listings(text, "x.txt")] == [
        "B0AAAAAAA1",
        "B0BBBBBBB1",
        "B0CCCCCCC1",
    ]


def test_exact_duplicates_are_collapsed() -> None:
    row = report_row("Bubble Wand", "BUB-1", "B0BUBBLE01")
    assert read_listings(report(row, row, row), "x.txt") == [
        listing("BUB-1", "B0BUBBLE01", "Bubble Wand", "Active")
    ]


def test_same_asin_in_two_marketplaces_is_two_listings() -> None:
    text = "sku,asin,marketplace\nBUB-1,B0BUBBLE01,amazon.com\nBUB-1,B0BUBBLE01,amazon.ca\n"
    assert [r["marketplace"] for r in read_listings(text, "x.csv")] == ["amazon.com", "amazon.ca"]


# --- files -----------------------------------------------------------------------------------


def test_cp1252_legacy_export(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    text = "seller-sku\titem-name\tasin1\nDOLL-FR\tPoupée Chérie – 30 cm\tB0DOLL0001\n"
    path.write_bytes(text.encode("cp1252"))
    assert read_listings_file(path, "amazon.fr") == [
        listing("DOLL-FR", "B0DOLL0001", "Poupée Chérie – 30 cm", None, "amazon.fr")
    ]


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "listings.csv"
    path.write_bytes("sku,asin,title\nRB-1,B0ROBOT001,Robot 🤖\n".encode("utf-8-sig"))
    assert read_listings_file(path) == [listing("RB-1", "B0ROBOT001", "Robot 🤖", None)]


def test_errors_name_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sku,asin\nA,B0BAD\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_listings_file(path)
    assert str(e.value) == f"{path} line 2: asin: 'B0BAD' is not an ASIN (10 letters or digits)"


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(InputError) as e:
        read_listings_file(path)
    assert str(e.value) == f"{path}: cannot read: No such file or directory"


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.txt"
    path.write_bytes(b"sku,asin\nA,\x81\x8d\n")
    with pytest.raises(InputError) as e:
        read_listings_file(path)
    assert str(e.value) == f"{path}: cannot read: not UTF-8 or Windows-1252 text"


# --- errors ----------------------------------------------------------------------------------


def test_no_sku_column() -> None:
    text = "item-name\tlisting-id\tprice\tasin1\nBear\t0512X7QK3ZD\t9.99\tB09XYZ1234\n"
    assert errors_of(text) == [
        "listings.txt header: no SKU column (expected one of seller-sku, item_sku, sku) "
        "in the first 5 rows"
    ]


def test_header_beyond_the_fifth_row_is_not_found() -> None:
    text = "note\n" * 5 + "sku,asin\nA,B000000001\n"
    assert errors_of(text, "late.csv") == [
        "late.csv header: no SKU column (expected one of seller-sku, item_sku, sku) "
        "in the first 5 rows"
    ]
    assert read_listings("note\n" * 4 + "sku,asin\nA,B000000001\n", "ok.csv") == [
        listing("A", "B000000001", None, None)
    ]


def test_no_empty_file() -> None:
    assert errors_of("")[0].startswith("listings.txt header: no SKU column")


def test_no_asin_column() -> None:
    text = "seller-sku\titem-name\tproduct-id\tprice\nBEAR-1\tBear\t0850012345678\t9.99\n"
    assert errors_of(text) == [
        "listings.txt header: no ASIN column (expected one of asin1, asin, "
        "merchant_suggested_asin, product-id with product-id-type, "
        "external_product_id with external_product_id_type)"
    ]


def test_blank_sku_and_blank_asin() -> None:
    text = report(
        report_row("Bear", "BEAR-1", "B09XYZ1234"),
        report_row("Kite", " ", "B0KITE0001"),
        report_row("Ball", "BALL-1", "", **{"product-id": ""}),
    )
    assert errors_of(text) == [
        "listings.txt line 3: seller-sku: is required",
        "listings.txt line 4: asin1: is required (the listing's ASIN)",
    ]


def test_malformed_asins() -> None:
    text = report(
        *(report_row(f"Toy {n}", f"TOY-{n}", f"B0TOY0000{n}") for n in range(1, 6)),
        report_row("Bad", "TOY-6", "B0BAD"),
        report_row("Worse", "TOY-7", "B0-TOY-007"),
        report_row("Worst", "TOY-8", "B0TOY000081"),
    )
    assert errors_of(text) == [
        "listings.txt line 7: asin1: 'B0BAD' is not an ASIN (10 letters or digits)",
        "listings.txt line 8: asin1: 'B0-TOY-007' is not an ASIN (10 letters or digits)",
        "listings.txt line 9: asin1: 'B0TOY000081' is not an ASIN (10 letters or digits)",
    ]


def test_malformed_product_id_of_type_asin() -> None:
    text = "seller-sku\tproduct-id-type\tproduct-id\nA\t1\t0850012345678\n"
    assert errors_of(text) == [
        "listings.txt line 2: product-id: '0850012345678' is not an ASIN (10 letters or digits)"
    ]


def test_one_asin_may_carry_several_skus() -> None:
    text = report(
        report_row("Bear", "BEAR-1", "B09XYZ1234"),
        report_row("Kite", "KITE-1", "B0KITE0001"),
        report_row("Bear", "BEAR-1-FBA", "b09xyz1234"),
    )
    rows = read_listings(text, "listings.txt")
    assert [(r["listing_id"], r["sku"]) for r in rows] == [
        ("B09XYZ1234", "BEAR-1"),
        ("B0KITE0001", "KITE-1"),
        ("B09XYZ1234", "BEAR-1-FBA"),
    ]


def test_same_asin_and_sku_with_another_status_is_an_error() -> None:
    text = "sku,asin,status\nBEAR-1,B09XYZ1234,Active\nBEAR-1,B09XYZ1234,Inactive\n"
    assert errors_of(text) == [
        "listings.txt line 3: status: 'Inactive' differs from line 2 for ASIN B09XYZ1234"
    ]


def test_line_numbers_count_metadata_and_label_rows() -> None:
    text = FLAT_FILE + (
        "toysandgames\t\tTinyTrex\tTinyTrex Puzzle Mat\tB0CDINOMAT\tASIN\tpuzzle-mats\t9.99\t5\n"
    )
    bad = FLAT_FILE.replace("B0CDINO048", "B0CDINO48")
    assert errors_of(text) == ["listings.txt line 6: item_sku: is required"]
    assert errors_of(bad) == [
        "listings.txt line 4: external_product_id: 'B0CDINO48' is not an ASIN "
        "(10 letters or digits)"
    ]


def test_line_numbers_after_blank_lines_and_multiline_titles() -> None:
    text = (
        "sku,asin,title\n"
        '\nTRAIN-1,B0TRAIN001,"Wooden Train\nwith 3 cars"\n'
        "\n"
        "TRAIN-2,B0TRAIN0X,Track Set\n"
    )
    assert errors_of(text) == [
        "listings.txt line 6: asin: 'B0TRAIN0X' is not an ASIN (10 letters or digits)"
    ]


def test_all_errors_are_reported_and_nothing_is_returned() -> None:
    text = report(
        report_row("Bear", "BEAR-1", "B09XYZ1234"),
        report_row("Kite", "", "B0KITE"),
        report_row("Ball", "BALL-1", "B0BALL0001"),
        report_row("Ball again", "BALL-1", "B0BALL0001"),
        report_row("Sled", "S" * 101, "B0SLED0001"),
    )
    assert errors_of(text) == [
        "listings.txt line 3: seller-sku: is required",
        "listings.txt line 3: asin1: 'B0KITE' is not an ASIN (10 letters or digits)",
        "listings.txt line 5: title: 'Ball again' differs from line 4 for ASIN B0BALL0001",
        "listings.txt line 6: sku: longer than 100 characters",
    ]
