import io

import pytest

from rag.documents import iter_corpus, load_html, load_pdf, make_document, parse_bytes, validate_doc_id
from rag.errors import InvalidDocument
from tests.conftest import CORPUS


def test_corpus_has_the_five_reports_with_titles_and_languages() -> None:
    docs = {d.id: d for d in iter_corpus(CORPUS)}
    assert sorted(docs) == ["000_910c0fafe831d9c0", "001_7c22d6fe12b3100b", "002_69e32223fb1822d6",
                            "003_d4c72938adbf6854", "004_481865b282495e49"]
    assert docs["004_481865b282495e49"].lang == "zh"
    assert docs["001_7c22d6fe12b3100b"].lang == "en"
    assert docs["003_d4c72938adbf6854"].title == "As Services Expand, More Foreigners Seek Treatment in China"
    # text is the file, unchanged: offsets into it are offsets into the file
    raw = (CORPUS / "000_910c0fafe831d9c0.txt").read_text(encoding="utf-8")
    assert docs["000_910c0fafe831d9c0"].text == raw


def test_html_loader_extracts_visible_text() -> None:
    html = b"<html><head><title>t</title><style>p{}</style></head><body><h1>Hello</h1><script>evil()</script>" \
           b"<p>AI in <b>healthcare</b></p></body></html>"
    text = load_html(html, "x.html")
    assert "Hello" in text and "healthcare" in text
    assert "evil" not in text and "<" not in text


def _pdf_with_text(text: str) -> bytes:
    """A minimal one-page PDF with a text layer (Helvetica)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def test_pdf_loader_reads_text_layer() -> None:
    assert "Radiology AI adoption" in load_pdf(_pdf_with_text("Radiology AI adoption"), "a.pdf")


def test_pdf_without_text_and_corrupt_pdf_are_refused() -> None:
    with pytest.raises(InvalidDocument):
        make_document("empty", load_pdf(_pdf_with_text(""), "e.pdf"))
    with pytest.raises(InvalidDocument):
        load_pdf(b"%PDF-1.4 garbage", "bad.pdf")


@pytest.mark.parametrize("data,name", [(b"\x00\x01\x02binary", "b.txt"), (b"\xff\xfe\xfa", "bad.txt"),
                                       (b"text", "x.exe")])
def test_bad_files_are_refused_with_a_message(data: bytes, name: str) -> None:
    with pytest.raises(InvalidDocument, match=name.split(".")[0]):
        parse_bytes(data, name)


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", ".hidden", "", "a" * 200, "x\x00y", "..", "a..b"])
def test_doc_ids_that_could_escape_are_refused(bad: str) -> None:
    with pytest.raises(InvalidDocument):
        validate_doc_id(bad)
