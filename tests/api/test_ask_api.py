from fastapi.testclient import TestClient

from tests.conftest import FDA_QUOTE

FDA_EN = "How many AI-enabled medical devices has the FDA cleared?"


def test_ask_contract_and_offsets_check_out(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": FDA_EN})
    assert r.status_code == 200
    body = r.json()
    for field in ("question", "language", "answered", "answer", "passages", "citations", "summarizer",
                  "disclaimer", "timing_ms"):
        assert field in body
    assert body["language"] == "en" and body["answered"] is True and body["summarizer"] == "extractive"
    top = body["passages"][0]
    assert FDA_QUOTE in top["text"] and top["rank"] == 1
    assert set(top) >= {"rank", "chunk_id", "doc_id", "title", "text", "score", "start", "end", "language"}
    for p in body["passages"]:
        doc = client.get(f"/v1/documents/{p['doc_id']}").json()
        assert doc["text"][p["start"]:p["end"]] == p["text"]
    # Each quoted sentence: in the answer text, inside the passage it cites, at offsets that check out.
    assert body["quotes"] and list(dict.fromkeys(q["rank"] for q in body["quotes"])) == body["citations"]
    for q in body["quotes"]:
        passage = body["passages"][q["rank"] - 1]
        assert q["doc_id"] == passage["doc_id"] and passage["start"] <= q["start"] < q["end"] <= passage["end"]
        assert client.get(f"/v1/documents/{q['doc_id']}").json()["text"][q["start"]:q["end"]] == q["text"]
        assert f"{q['text']} [{q['rank']}]" in body["answer"]
    assert "1,000" in body["quotes"][0]["text"]


def test_ask_in_chinese(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "美国FDA已经批准了多少款人工智能医疗器械？", "top_k": 5}).json()
    assert body["language"] == "zh"
    assert any(FDA_QUOTE in p["text"] for p in body["passages"])


def test_search_returns_passages_with_filters(client: TestClient) -> None:
    r = client.post("/v1/search", json={"question": FDA_EN, "top_k": 3, "language": "en"})
    assert r.status_code == 200
    passages = r.json()["passages"]
    assert len(passages) == 3 and all(p["language"] == "en" for p in passages)


def test_a_question_naming_a_report_says_which_report_and_what_was_searched(client: TestClient) -> None:
    question = "What share of organizations use AI, per NVIDIA's survey?"
    for route in ("/v1/ask", "/v1/search"):
        body = client.post(route, json={"question": question}).json()
        assert body["named_source"] == {"phrase": "per NVIDIA's survey", "doc_ids": ["004_481865b282495e49"],
                                        "searched": "What share of organizations use AI?"}, route
        assert body["passages"][0]["doc_id"] == "004_481865b282495e49"
    plain = client.post("/v1/ask", json={"question": FDA_EN}).json()
    assert plain["named_source"] is None


def test_documents_listing(client: TestClient) -> None:
    docs = client.get("/v1/documents").json()
    assert len(docs) == 5 and {"id", "title", "language", "length"} <= set(docs[0])
    assert client.get("/v1/documents/004_481865b282495e49").json()["language"] == "zh"


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 5


def test_bad_input_gets_4xx_with_a_message(client: TestClient) -> None:
    cases = [
        {"json": {"question": ""}},
        {"json": {"question": "   "}},
        {"json": {"question": "x" * 3000}},
        {"json": {"question": "a\x00b"}},
        {"json": {"question": 123}},
        {"json": {"question": "ok", "top_k": 0}},
        {"json": {"question": "ok", "top_k": "five"}},
        {"json": {"question": "ok", "unknown": 1}},
        {"json": []},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {"content": b'{"question": "\xff\xfe"}', "headers": {"content-type": "application/json"}},
    ]
    for case in cases:
        r = client.post("/v1/ask", **case)
        assert 400 <= r.status_code < 500, (case, r.status_code)
        assert r.json()["detail"], case
    assert client.get("/v1/documents/no-such-doc").status_code == 404
    assert client.get("/v1/documents/..%2F..%2Fetc%2Fpasswd").status_code in (404, 422)


def test_odd_but_valid_questions_are_answered_not_crashed(client: TestClient) -> None:
    for q in ["🤖🏥?", "<script>alert(1)</script> FDA", "ＦＤＡ批准了多少个AI设备？", "FDA 批准 devices 数量", "?"]:
        r = client.post("/v1/ask", json={"question": q})
        assert r.status_code == 200, q


def test_a_refusal_quotes_nothing(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "Who won the 2025 NBA Finals?"}).json()
    assert body["answered"] is False and body["citations"] == [] and body["quotes"] == []
    assert body["refusal"] == "not_covered" and body["missing"] is None
    assert client.post("/v1/ask", json={"question": FDA_EN}).json()["refusal"] is None


def test_a_figure_the_reports_do_not_give_is_refused_as_missing_not_as_uncovered(client: TestClient) -> None:
    """The reports cover China's AI imaging market but print its size as "US$ XX billion": the refusal says the
    figure is missing (`missing: "figure"`) so a client can tell a reader the subject is covered."""
    body = client.post("/v1/ask", json={"question": "报告预测2030年中国AI医学影像市场的具体规模是多少美元？"}).json()
    assert (body["answered"], body["refusal"], body["missing"]) == (False, "not_covered", "figure")
    assert "没有给出所问的数字" in body["answer"] and body["passages"] and body["quotes"] == []
    assert client.post("/v1/ask", json={"question": FDA_EN}).json()["missing"] is None


def test_names_the_reports_do_not_give_are_refused_as_missing_names(client: TestClient) -> None:
    """The reports count Beijing's first pilot hospitals without naming them: `missing: "name"`."""
    body = client.post("/v1/ask", json={"question": "北京2019年启动国际医疗试点时的七家医院是哪几家？"}).json()
    assert (body["answered"], body["refusal"], body["missing"]) == (False, "not_covered", "name")
    assert "没有列出所问的名称" in body["answer"] and body["passages"] and body["quotes"] == []


def test_a_question_in_a_script_the_service_does_not_read_is_told_which_languages_it_answers(
        client: TestClient) -> None:
    """A Korean question naming the FDA used to be answered, and one about Korea's market was answered with an
    unrelated Chinese adoption rate: the tokenizer dropped Hangul, so only "FDA" or "AI" was read."""
    for q, code in (("미국 FDA는 AI 의료기기를 몇 개 승인했나요?", "ko"),
                    ("Сколько медицинских ИИ-устройств одобрило FDA?", "ru")):
        body = client.post("/v1/ask", json={"question": q}).json()
        assert body["answered"] is False and body["refusal"] == "language" and body["unread_language"] == code, q
        assert "English or Chinese" in body["answer"] and "英文或中文" in body["answer"]
        assert body["passages"] and body["quotes"] == []  # what retrieval found is still shown
    # a foreign name inside an English or Chinese question is no reason to refuse
    assert client.post("/v1/ask", json={"question": "Did FDA clearances reach Москва?"}).json()["refusal"] != "language"


def test_a_question_in_another_latin_script_language_is_told_which_languages_it_answers(client: TestClient) -> None:
    """French or Spanish looks English to a script count: such a question was refused as "not covered" (the wrong
    reason) after the speller had "corrected" its words into English ones ("Combien" → "Combine")."""
    for q, code in (("Combien de dispositifs médicaux basés sur l'IA la FDA a-t-elle approuvés ?", "fr"),
                    ("¿Cuántos dispositivos médicos con IA ha aprobado la FDA?", "es")):
        body = client.post("/v1/ask", json={"question": q}).json()
        assert (body["answered"], body["refusal"], body["unread_language"]) == (False, "language", code), q
        assert body["spelling"] == [] and "English or Chinese" in body["answer"]
    for q in ("How many AI medical devices has the FDA approved?", "FDA批准了多少个AI医疗器械？"):
        body = client.post("/v1/ask", json={"question": q}).json()
        assert body["answered"] and body["refusal"] is None and body["unread_language"] is None, q


def test_a_misspelt_question_is_answered_and_says_what_was_corrected(client: TestClient) -> None:
    for route in ("/v1/ask", "/v1/search"):
        body = client.post(route, json={"question": "How many AI-enabled medical devicse has the FDA cleraed?"}).json()
        assert body["spelling"] == [{"word": "devicse", "corrected": "devices"},
                                    {"word": "cleraed", "corrected": "cleared"}], route
        assert FDA_QUOTE in body["passages"][0]["text"], route
    assert client.post("/v1/ask", json={"question": FDA_EN}).json()["spelling"] == []
