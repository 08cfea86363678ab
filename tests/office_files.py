"""Real documents for the loader tests, made by real tools: LibreOffice converts sources written
here (flat OpenDocument XML, CSV); poppler's pdftoppm renders PDFs to images for OCR."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TOOLS = ("soffice", "pdftoppm", "tesseract")


def require_tools() -> None:
    """Fail with the fix, not a FileNotFoundError, where `make test` did not install them."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    assert not missing, f"missing {', '.join(missing)}: run `make tools ocr`"


_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:office-meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3"'
)

# A manual: two chapters (the second starts on a new page, so EPUB export splits there).
MANUAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document {_NS} office:mimetype="application/vnd.oasis.opendocument.text">
 <office:meta><dc:title>Heron pump manual</dc:title></office:meta>
 <office:styles>
  <style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph"
   style:default-outline-level="1"/>
  <style:style style:name="Heading_20_2" style:display-name="Heading 2" style:family="paragraph"
   style:default-outline-level="2"/>
 </office:styles>
 <office:automatic-styles>
  <style:style style:name="NewPage" style:family="paragraph" style:parent-style-name="Heading_20_1">
   <style:paragraph-properties fo:break-before="page"/></style:style>
 </office:automatic-styles>
 <office:body><office:text>
  <text:h text:style-name="Heading_20_1" text:outline-level="1">Installing the pump</text:h>
  <text:p>Mount the heron pump on a level concrete base before wiring it.</text:p>
  <text:h text:style-name="Heading_20_2" text:outline-level="2">Wiring</text:h>
  <text:p>Connect the brown wire to terminal L and the blue wire to terminal N.</text:p>
  <table:table table:name="Torques"><table:table-column table:number-columns-repeated="2"/>
   <table:table-row><table:table-cell><text:p>Part</text:p></table:table-cell>
    <table:table-cell><text:p>Torque</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell><text:p>Flange bolt</text:p></table:table-cell>
    <table:table-cell><text:p>42 Nm</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell><text:p>Impeller nut</text:p></table:table-cell>
    <table:table-cell><text:p>17 Nm</text:p></table:table-cell></table:table-row>
  </table:table>
  <text:h text:style-name="NewPage" text:outline-level="1">Maintenance</text:h>
  <text:p>Replace the zircon seal every 900 hours of running.</text:p>
  <text:list><text:list-item>
   <text:p>Check the <text:span>inlet</text:span> strainer monthly.</text:p>
  </text:list-item></text:list>
 </office:text></office:body>
</office:document>
"""

_FRAME = 'draw:layer="layout" presentation:style-name="pr1"'
# Two slides: a title, bullets and speaker notes; then a title and a table.
DECK = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document {_NS} office:mimetype="application/vnd.oasis.opendocument.presentation">
 <office:automatic-styles>
  <style:style style:name="pr1" style:family="presentation"/>
  <style:page-layout style:name="PM1"><style:page-layout-properties fo:page-width="28cm"
   fo:page-height="15.75cm" style:print-orientation="landscape"/></style:page-layout>
 </office:automatic-styles>
 <office:master-styles><style:master-page style:name="Default" style:page-layout-name="PM1"/>
 </office:master-styles>
 <office:body><office:presentation>
  <draw:page draw:name="page1" draw:master-page-name="Default"
   presentation:presentation-page-layout-name="AL1T1">
   <draw:frame {_FRAME} presentation:class="title" svg:x="1cm" svg:y="1cm" svg:width="24cm"
    svg:height="3cm"><draw:text-box><text:p>Quarterly heron census</text:p></draw:text-box>
   </draw:frame>
   <draw:frame {_FRAME} presentation:class="outline" svg:x="1cm" svg:y="5cm" svg:width="24cm"
    svg:height="10cm"><draw:text-box><text:list>
    <text:list-item><text:p>Grey herons counted at the marsh rose to 312.</text:p></text:list-item>
    <text:list-item><text:p>Purple herons stayed rare.</text:p></text:list-item>
   </text:list></draw:text-box></draw:frame>
   <presentation:notes><draw:page-thumbnail draw:page-number="1" presentation:class="page"
    svg:x="2cm" svg:y="2cm" svg:width="14cm" svg:height="10cm"/>
    <draw:frame {_FRAME} presentation:class="notes" svg:x="2cm" svg:y="14cm" svg:width="17cm"
     svg:height="10cm"><draw:text-box>
     <text:p>Remind the board that the census ran in thick fog.</text:p>
    </draw:text-box></draw:frame>
   </presentation:notes>
  </draw:page>
  <draw:page draw:name="page2" draw:master-page-name="Default"
   presentation:presentation-page-layout-name="AL1T0">
   <draw:frame {_FRAME} presentation:class="title" svg:x="1cm" svg:y="1cm" svg:width="24cm"
    svg:height="3cm"><draw:text-box><text:p>Counts by site</text:p></draw:text-box></draw:frame>
   <draw:frame svg:x="1cm" svg:y="5cm" svg:width="20cm" svg:height="6cm"><table:table>
    <table:table-column/><table:table-column/>
    <table:table-row><table:table-cell><text:p>Site</text:p></table:table-cell>
     <table:table-cell><text:p>Herons</text:p></table:table-cell></table:table-row>
    <table:table-row><table:table-cell><text:p>North lagoon</text:p></table:table-cell>
     <table:table-cell><text:p>187</text:p></table:table-cell></table:table-row>
    <table:table-row><table:table-cell><text:p>Reed bank</text:p></table:table-cell>
     <table:table-cell><text:p>125</text:p></table:table-cell></table:table-row>
   </table:table></draw:frame>
  </draw:page>
 </office:presentation></office:body>
</office:document>
"""


def _row(*cells: str) -> str:
    def cell(value: str) -> str:
        kind = (
            'office:value-type="float" office:value="{0}"'
            if value.replace(".", "").isdigit()
            else 'office:value-type="string"'
        )
        return f"<table:table-cell {kind.format(value)}><text:p>{value}</text:p></table:table-cell>"

    return "<table:table-row>" + "".join(cell(c) for c in cells) + "</table:table-row>"


# A workbook of two sheets: the census counts, and the staff roster.
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document {_NS} office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:body><office:spreadsheet>
  <table:table table:name="Counts">
   {_row("Site", "Species", "Count")}
   {_row("North lagoon", "Grey heron", "187")}
   {_row("Reed bank", "Purple heron", "3")}
   {_row("Café terrace, east", "Little egret", "12.5")}
  </table:table>
  <table:table table:name="Roster">
   {_row("Name", "Role")}
   {_row("Ines Okafor", "Warden")}
  </table:table>
 </office:spreadsheet></office:body>
</office:document>
"""

FILTERS = {
    "odt": "odt:writer8",
    "docx": "docx:MS Word 2007 XML",
    "rtf": "rtf:Rich Text Format",
    "epub": "epub:EPUB",
    "pdf": "pdf:writer_pdf_Export",
    "pptx": "pptx:Impress MS PowerPoint 2007 XML",
    "xlsx": "xlsx:Calc Office Open XML",
    # Windows-1252 with semicolons, as a European Excel writes it.
    "csv": "csv:Text - txt - csv (StarCalc):59,34,1",
    "tsv": "tsv:Text - txt - csv (StarCalc):9,34,76",  # tabs, UTF-8
}


def soffice(source: Path, kind: str, outdir: Path) -> Path:
    """`source` converted by LibreOffice headless into `outdir`, with a private profile (two
    LibreOffice runs that share a profile refuse to start)."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
             "--convert-to", FILTERS[kind], "--outdir", str(outdir), str(source)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    made = outdir / f"{source.stem}.{kind}"
    assert made.is_file(), f"LibreOffice made no {made.name}"
    return made


def make(folder: Path, name: str, source: str, kinds: list[str]) -> dict[str, Path]:
    """Write `source` as `name` in `folder`, and convert it into each of `kinds`."""
    src = folder / name
    src.write_text(source, encoding="utf-8")
    return {kind: soffice(src, kind, folder) for kind in kinds}


def page_images(pdf: Path, outdir: Path, dpi: int = 200) -> list[Path]:
    """The PDF's pages as PNG images, rendered by pdftoppm."""
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(outdir / pdf.stem)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return sorted(outdir.glob(f"{pdf.stem}-*.png"))


def image_only_pdf(images: list[Path], out: Path, dpi: int = 200) -> Path:
    """A scan: the images as the pages of a PDF with no text layer (Pillow writes it)."""
    from PIL import Image

    pages = [Image.open(p).convert("L") for p in images]
    pages[0].save(out, save_all=True, append_images=pages[1:], resolution=dpi)
    return out
