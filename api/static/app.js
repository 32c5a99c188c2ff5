/*
 * The patient page for the healthcare-AI reports QA service. Plain JavaScript, no dependencies, no build.
 *
 * Safety rule for this file: user and document text only ever reaches the page through textContent,
 * createTextNode and createElement; nothing here parses strings as HTML. The page's Content-Security-Policy
 * enforces Trusted Types, so an HTML-string assignment would throw rather than run.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------------- strings

  const STRINGS = {
    en: {
      docTitle: "Ask the healthcare AI reports",
      skip: "Skip to the question",
      title: "Ask the healthcare AI reports",
      intro: "Ask in English or Chinese about five published reports on AI in healthcare. " +
        "Every answer shows the passages it comes from.",
      questionLabel: "Your question",
      questionHint: "Press Enter to ask. Shift+Enter starts a new line.",
      summarize: "Summarize with AI",
      ask: "Ask",
      asking: "Asking…",
      examples: "Try an example",
      answerHeading: "Answer",
      youAsked: "You asked:",
      emptyQuestion: "Please type a question first.",
      searching: "Searching the reports…",
      writing: "Writing the AI summary…",
      answerReady: "Answer ready.",
      notCovered: "The reports don't cover this question",
      notCoveredBody: "Nothing in the five reports answers it, so no answer is given rather than a guess. " +
        "Try rephrasing, or ask about AI in healthcare in the US or China, AI medical imaging, " +
        "medical tourism to China, or NVIDIA's survey.",
      noFigure: "The reports don't give this figure",
      noFigureBody: "None of the passages closest to this question gives the number or date asked for, so none " +
        "is given rather than a guess. Those passages are listed below.",
      noName: "The reports don't name these",
      noNameBody: "None of the passages closest to this question names the ones asked about, so none are given " +
        "rather than a guess. Those passages are listed below.",
      unreadLanguage: "Please ask in English or Chinese",
      unreadLanguageBody: "The service reads questions in English and Chinese only; the closest passages it found " +
        "are listed below.",
      citeLabel: "Source {n}",
      sourceHeading: "Source [{n}]",
      report: "Report",
      documentId: "Document ID",
      position: "Position",
      characters: "characters {start}–{end}",
      allPassages: "All passages found ({n})",
      closestPassages: "Closest passages found ({n}) — they may not be relevant",
      noPassages: "No passages were found.",
      disclaimerHeading: "Important",
      disclaimerFallback: "This information comes from published reports and is not medical advice. " +
        "Ask a licensed clinician about your own health.",
      extractive: "These sentences are quoted from the reports; select a number to see its source.",
      llm: "Summarized by AI from the passages below. Select a number to check its source.",
      fallback: "The AI summary wasn't available ({reason}), so sentences are quoted from the reports instead.",
      quotedEn: "Sentences from English reports are quoted in English.",
      quotedZh: "Sentences from Chinese reports are quoted in Chinese.",
      namedSource: "Your question names the report “{title}”, so its passages come first.",
      spelling: "Searched with the reports' spelling: {words}.",
      errorHeading: "Couldn't get an answer",
      networkError: "Could not reach the service. Check your connection and try again.",
      serverError: "The service returned an error (HTTP {status}).",
      badResponse: "The service sent a reply this page could not read. Please try again.",
      streamCut: "The answer stopped before it was finished. Please try again.",
      notReady: "The service is still starting up, so answers may fail for a moment.",
      footer: "Answers are drawn only from the reports and may be incomplete or out of date. " +
        "This is not medical advice.",
    },
    zh: {
      docTitle: "医疗AI报告问答",
      skip: "跳到提问框",
      title: "向医疗AI报告提问",
      intro: "可以用中文或英文提问，内容来自五份关于医疗人工智能的公开报告。每个回答都会列出出处段落。",
      questionLabel: "您的问题",
      questionHint: "按 Enter 提问，按 Shift+Enter 换行。",
      summarize: "AI 总结",
      ask: "提问",
      asking: "正在查询…",
      examples: "试试这些问题",
      answerHeading: "回答",
      youAsked: "您的问题：",
      emptyQuestion: "请先输入问题。",
      searching: "正在检索报告…",
      writing: "AI 正在生成总结…",
      answerReady: "回答已生成。",
      notCovered: "这些报告没有涉及这个问题",
      notCoveredBody: "五份报告中没有能回答这个问题的内容，因此不作猜测。可以换个说法，" +
        "或询问中美医疗AI、AI医学影像、赴华就医或NVIDIA调研相关的问题。",
      noFigure: "报告没有给出这个数字",
      noFigureBody: "与这个问题最接近的段落都没有给出所问的数字或日期，因此不作猜测。下面列出的就是这些段落。",
      noName: "报告没有列出这些名称",
      noNameBody: "与这个问题最接近的段落都没有列出所问的名称，因此不作猜测。下面列出的就是这些段落。",
      unreadLanguage: "请用英文或中文提问",
      unreadLanguageBody: "本服务只读取英文和中文的问题；下面列出的是检索到的最接近的段落。",
      citeLabel: "出处 {n}",
      sourceHeading: "出处 [{n}]",
      report: "报告",
      documentId: "文档编号",
      position: "位置",
      characters: "第 {start}–{end} 个字符",
      allPassages: "检索到的全部段落（{n}）",
      closestPassages: "最接近的段落（{n}），可能并不相关",
      noPassages: "没有找到相关段落。",
      disclaimerHeading: "重要提示",
      disclaimerFallback: "以上信息摘自公开报告，不构成医疗建议。涉及您本人健康的问题，请咨询执业医生。",
      extractive: "以下句子摘自报告原文；点击编号可查看出处。",
      llm: "由 AI 根据下方段落总结，请点击编号核对出处。",
      fallback: "AI 总结暂不可用（{reason}），以下为报告原文摘录。",
      quotedEn: "引自英文报告的句子保留英文原文。",
      quotedZh: "引自中文报告的句子保留中文原文。",
      namedSource: "问题提到了报告《{title}》，因此先列出其中的段落。",
      spelling: "已按报告中的拼写检索：{words}。",
      errorHeading: "未能获得回答",
      networkError: "无法连接服务，请检查网络后重试。",
      serverError: "服务返回错误（HTTP {status}）。",
      badResponse: "服务返回的内容无法识别，请重试。",
      streamCut: "回答在完成前中断了，请重试。",
      notReady: "服务正在启动，暂时可能无法回答。",
      footer: "回答仅来自上述报告，可能不完整或已过时，不构成医疗建议。",
    },
  };

  const LANG_KEY = "rag.uiLang";
  const SUMMARIZE_KEY = "rag.summarize";
  let uiLang = "en";

  function t(key, args) {
    let s = STRINGS[uiLang][key];
    if (s === undefined) s = STRINGS.en[key];
    if (s === undefined) {
      console.warn("missing UI string", key);
      return key;
    }
    if (args) s = s.replace(/\{(\w+)\}/g, (m, name) => (name in args ? String(args[name]) : m));
    return s;
  }

  /** Give `el` a translated text (and/or aria-label) that follows the UI language from now on. */
  function tr(el, key, args, labelKey) {
    if (key) el.dataset.i18n = key;
    if (labelKey) el.dataset.i18nLabel = labelKey;
    if (args) el.dataset.i18nArgs = JSON.stringify(args);
    translate(el);
    return el;
  }

  function translate(el) {
    const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : undefined;
    if (el.dataset.i18n) el.textContent = t(el.dataset.i18n, args);
    if (el.dataset.i18nLabel) el.setAttribute("aria-label", t(el.dataset.i18nLabel, args));
  }

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
  }

  function initialLang() {
    const saved = storageGet(LANG_KEY);
    if (saved === "en" || saved === "zh") return saved;
    return /^zh/i.test(navigator.language || "") ? "zh" : "en";
  }

  function setLang(lang) {
    uiLang = lang === "zh" ? "zh" : "en";
    document.documentElement.lang = uiLang === "zh" ? "zh-CN" : "en";
    document.title = t("docTitle");
    document.querySelectorAll("[data-i18n], [data-i18n-label]").forEach(translate);
    document.querySelectorAll("#lang-toggle [data-lang]").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.lang === uiLang));
    });
  }

  /** "en" or "zh" for a passage or answer language from the API, else null (no note is given for others). */
  function langGroup(code) {
    return code === "en" || code === "zh" ? code : null;
  }

  /** An HTML `lang` value for a language code from the API ("zh" → "zh-CN"); undefined if it isn't one. */
  function langAttr(code) {
    if (code === "zh") return "zh-CN";
    return typeof code === "string" && /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(code) ? code : undefined;
  }

  // ------------------------------------------------------------------------------------------ SSE parser

  /**
   * Server-Sent Events parser for a fetch() body (EventSource cannot POST). Feed it decoded text in chunks of
   * any size; it returns the complete events ({event, data}) seen so far. Handles \n, \r\n and \r line ends
   * (including a \r\n split across chunks), multi-line data, comments, and events split anywhere.
   */
  class SSEParser {
    constructor() {
      this.buffer = "";
      this.eventType = "";
      this.dataLines = [];
    }

    feed(text) {
      const out = [];
      const buf = this.buffer + text;
      let pos = 0;
      const lineEnd = /[\r\n]/g;
      for (;;) {
        lineEnd.lastIndex = pos;
        const m = lineEnd.exec(buf);
        if (!m) break;
        let next = m.index + 1;
        if (m[0] === "\r") {
          if (next === buf.length) break; // may be the first half of a \r\n: wait for the next chunk
          if (buf[next] === "\n") next += 1;
        }
        this.line(buf.slice(pos, m.index), out);
        pos = next;
      }
      this.buffer = buf.slice(pos);
      return out;
    }

    /** End of stream: deliver what is pending even without the final blank line (lenient on purpose). */
    end() {
      const out = [];
      let rest = this.buffer;
      this.buffer = "";
      if (rest.endsWith("\r")) rest = rest.slice(0, -1);
      if (rest) this.line(rest, out);
      this.line("", out);
      return out;
    }

    line(line, out) {
      if (line === "") {
        if (this.dataLines.length) out.push({ event: this.eventType || "message", data: this.dataLines.join("\n") });
        this.eventType = "";
        this.dataLines = [];
        return;
      }
      if (line[0] === ":") return; // comment / keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "event") this.eventType = value;
      else if (field === "data") this.dataLines.push(value);
      // "id" and "retry" mean nothing for a one-shot POST stream.
    }
  }

  // ------------------------------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "className") node.className = v;
        else if (k === "text") node.textContent = v;
        else node.setAttribute(k, v === true ? "" : String(v));
      }
    }
    if (children) for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  /** Thrown for failures whose message is meant for the reader. */
  class ShownError extends Error {}

  // -------------------------------------------------------------------------------------------- elements

  let form, question, questionError, submitLabel, summarizeWrap, summarizeBox, live, result, asked, body, notice;
  let current = null; // AbortController of the request in flight
  let readyTries = 0;

  function announce(key) {
    // Clear first so repeating the same message is announced again.
    live.textContent = "";
    window.setTimeout(() => { live.textContent = t(key); }, 50);
  }

  function setLoading(on) {
    form.classList.toggle("loading", on);
    tr(submitLabel, on ? "asking" : "ask");
    result.setAttribute("aria-busy", String(on));
  }

  function clearResult() {
    result.hidden = true;
    asked.replaceChildren();
    body.replaceChildren();
  }

  function showResultShell(q) {
    asked.replaceChildren(tr(el("span", { className: "asked-label" }), "youAsked"), " ", el("q", { text: q }));
    body.replaceChildren();
    result.hidden = false;
  }

  function focusResult() {
    result.focus({ preventScroll: false });
  }

  // ----------------------------------------------------------------------------------------- rendering

  function passageMeta(p) {
    return el("dl", { className: "meta" }, [
      el("div", null, [tr(el("dt"), "report"), el("dd", { text: p.title || p.doc_id, lang: langAttr(p.language) })]),
      el("div", null, [tr(el("dt"), "documentId"), el("dd", { className: "mono", text: p.doc_id })]),
      el("div", null, [tr(el("dt"), "position"), tr(el("dd"), "characters", { start: p.start, end: p.end })]),
    ]);
  }

  /** The passage text; the sentences the answer quotes from it (`quotes`, document offsets) are marked. */
  function passageQuote(p, quotes) {
    const text = String(p.text);
    const spans = (quotes || [])
      .filter((q) => q && q.rank === p.rank && Number.isInteger(q.start) && Number.isInteger(q.end))
      .map((q) => [q.start - p.start, q.end - p.start])
      .filter(([s, e]) => s >= 0 && e <= text.length && s < e)
      .sort((a, b) => a[0] - b[0]);
    const parts = [];
    let at = 0;
    for (const [s, e] of spans) {
      if (s < at) continue; // overlapping quotes: the first one is marked
      if (s > at) parts.push(text.slice(at, s));
      parts.push(el("mark", { className: "quoted", text: text.slice(s, e) }));
      at = e;
    }
    if (at < text.length) parts.push(text.slice(at));
    return el("blockquote", { className: "passage-text", lang: langAttr(p.language) }, parts);
  }

  function citationPanel(p, quotes) {
    const id = "cite-panel-" + p.rank;
    const heading = tr(el("h3", { id: id + "-heading" }), "sourceHeading", { n: p.rank });
    return el("div", { id, className: "source-panel", role: "region", "aria-labelledby": id + "-heading", hidden: true },
      [heading, passageQuote(p, quotes), passageMeta(p)]);
  }

  function toggleCitation(rank) {
    const panel = document.getElementById("cite-panel-" + rank);
    if (!panel) return;
    const open = panel.hidden;
    panel.hidden = !open;
    body.querySelectorAll('button.cite[data-rank="' + rank + '"]').forEach((b) => {
      b.setAttribute("aria-expanded", String(open));
    });
    if (open && panel.scrollIntoView) panel.scrollIntoView({ block: "nearest" });
  }

  function citeButton(rank) {
    const b = el("button", {
      type: "button", className: "cite", "aria-expanded": "false", "aria-controls": "cite-panel-" + rank,
      "data-rank": rank, text: "[" + rank + "]",
    });
    tr(b, null, { n: rank }, "citeLabel");
    b.addEventListener("click", () => toggleCitation(rank));
    return b;
  }

  const MARKER = /\[(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\]/g;

  /** The answer paragraph with every valid [n] (or [n, m]) turned into buttons; returns cited ranks in order. */
  function answerParagraph(text, byRank, lang) {
    const p = el("p", { className: "answer-text", lang: langAttr(lang) });
    const cited = [];
    let last = 0;
    for (const m of text.matchAll(MARKER)) {
      const ranks = m[1].split(/[,，、]/).map((s) => parseInt(s.trim(), 10));
      if (!ranks.every((r) => byRank.has(r))) continue; // not a citation we can show: leave it as text
      p.append(text.slice(last, m.index));
      ranks.forEach((r, i) => {
        if (i) p.append(" ");
        p.append(citeButton(r));
        if (!cited.includes(r)) cited.push(r);
      });
      last = m.index + m[0].length;
    }
    p.append(text.slice(last));
    return { p, cited };
  }

  function passagesList(passages, answered) {
    if (!passages.length) return tr(el("p", { className: "note passages" }), "noPassages");
    const details = el("details", { className: "passages" });
    details.append(tr(el("summary"), answered ? "allPassages" : "closestPassages", { n: passages.length }));
    const ol = el("ol", { className: "passage-list" });
    for (const p of passages) {
      ol.append(el("li", { id: "passage-" + p.rank }, [
        el("p", { className: "passage-head" }, [
          el("span", { className: "rank", text: "[" + p.rank + "]" }), " ",
          el("span", { className: "passage-title", text: p.title || p.doc_id, lang: langAttr(p.language) }),
        ]),
        passageQuote(p),
        passageMeta(p),
      ]));
    }
    details.append(ol);
    return details;
  }

  function disclaimerBox(r) {
    const text = typeof r.disclaimer === "string" && r.disclaimer.trim() ? r.disclaimer : null;
    const p = text ? el("p", { text, lang: langAttr(r.language) }) : tr(el("p"), "disclaimerFallback");
    return el("aside", { className: "disclaimer", "aria-labelledby": "disclaimer-heading" },
      [tr(el("h3", { id: "disclaimer-heading" }), "disclaimerHeading"), p]);
  }

  function validResponse(r) {
    return r && typeof r === "object" && typeof r.answer === "string" && Array.isArray(r.passages) &&
      r.passages.every((p) => p && typeof p === "object" && Number.isInteger(p.rank));
  }

  /** Render a final AskResponse (from JSON or the stream's `done` event) and move focus to it. */
  function renderResponse(q, r) {
    if (!validResponse(r)) throw new ShownError(t("badResponse"));
    showResultShell(typeof r.question === "string" && r.question ? r.question : q);
    const byRank = new Map(r.passages.map((p) => [p.rank, p]));
    const answered = r.answered !== false;
    // Misspelt words searched as the reports' word ("radiolgists → radiologists"): say so, answered or not.
    const fixes = (Array.isArray(r.spelling) ? r.spelling : []).filter((f) => f && f.word && f.corrected);
    if (fixes.length) {
      body.append(tr(el("p", { className: "note spelling" }), "spelling",
        { words: fixes.map((f) => `${f.word} → ${f.corrected}`).join(", ") }));
    }
    if (answered) {
      const { p, cited } = answerParagraph(r.answer, byRank, r.language);
      const panels = el("div", { className: "source-panels" }, cited.map((rank) => citationPanel(byRank.get(rank), r.quotes)));
      const notes = [];
      if (r.fallback_reason) notes.push(tr(el("p", { className: "note" }), "fallback", { reason: r.fallback_reason }));
      else notes.push(tr(el("p", { className: "note" }), r.summarizer && r.summarizer !== "extractive" ? "llm" : "extractive"));
      // Quoted sentences stay in their report's language: say so when that is not the question's language.
      const quotedIn = new Set((Array.isArray(r.quotes) ? r.quotes : []).map((q) => langGroup((byRank.get(q.rank) || {}).language)));
      for (const lang of ["en", "zh"]) {
        if (lang !== langGroup(r.language) && quotedIn.has(lang)) {
          notes.push(tr(el("p", { className: "note quoted-language" }), lang === "en" ? "quotedEn" : "quotedZh"));
        }
      }
      // A question that names one of the reports ("…, per NVIDIA's survey") gets that report's passages first.
      const named = r.named_source && Array.isArray(r.named_source.doc_ids) ? r.named_source.doc_ids : [];
      const namedTitles = [...new Set(r.passages.filter((x) => named.includes(x.doc_id)).map((x) => x.title))];
      if (namedTitles.length) {
        notes.push(tr(el("p", { className: "note named-source" }), "namedSource", { title: namedTitles.join(" / ") }));
      }
      body.append(el("div", { className: "answer", id: "answer" }, [p, panels]), ...notes);
    } else {
      // `refusal: "language"`: written in a language the service does not read, which is not "not covered".
      // `missing: "figure"` / `"name"`: the reports cover the subject but give no such number or date, or name none
      // of what was asked, which is not "don't cover this question" either.
      const kind = refusalKind(r);
      const box = el("div", { className: "not-covered", id: "not-covered", role: "status" }, [
        tr(el("h3"), kind),
        tr(el("p"), kind + "Body"),
      ]);
      if (r.answer.trim()) box.append(el("p", { className: "server-message", text: r.answer, lang: langAttr(r.language) }));
      body.append(box);
    }
    body.append(disclaimerBox(r), passagesList(r.passages, answered));
    announce(answered ? "answerReady" : refusalKind(r));
    focusResult();
  }

  /** The message key for a refusal: an unread language, a figure or names the reports don't give, or not covered. */
  function refusalKind(r) {
    if (r.refusal === "language") return "unreadLanguage";
    if (r.missing === "name") return "noName";
    return r.missing === "figure" ? "noFigure" : "notCovered";
  }

  function showError(q, message) {
    showResultShell(q);
    body.append(el("div", { className: "error", role: "alert" }, [
      tr(el("h3"), "errorHeading"),
      el("p", { className: "error-detail", text: message }),
    ]));
    focusResult();
  }

  /** The `detail` of an error body as one readable line (a string, or FastAPI's list of {loc, msg}). */
  function detailText(b) {
    if (!b || typeof b !== "object") return "";
    const d = b.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) {
      return d.map((item) => {
        if (typeof item === "string") return item;
        if (!item || typeof item !== "object") return "";
        const loc = Array.isArray(item.loc) ? item.loc.filter((x) => x !== "body").join(".") : "";
        const msg = typeof item.msg === "string" ? item.msg : "";
        return loc && msg ? loc + ": " + msg : msg || loc;
      }).filter(Boolean).join("; ");
    }
    return typeof b.error === "string" ? b.error : "";
  }

  async function errorMessage(res) {
    let b = null;
    try { b = await res.json(); } catch (e) { /* not JSON */ }
    return detailText(b) || t("serverError", { status: res.status });
  }

  // ------------------------------------------------------------------------------------------- asking

  async function readStream(q, res) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SSEParser();
    let draft = null;
    let finished = false;

    const handle = (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch (e) { throw new ShownError(t("badResponse")); }
      if (ev.event === "passages") {
        if (!Array.isArray(data)) return;
        ensureDraft();
        body.querySelectorAll(".passages").forEach((d) => d.remove());
        body.append(passagesList(data, true));
      } else if (ev.event === "token") {
        ensureDraft();
        if (data && typeof data.text === "string") draft.append(data.text);
      } else if (ev.event === "done") {
        renderResponse(q, data);
        finished = true;
      } else if (ev.event === "error") {
        throw new ShownError(detailText(data) || t("badResponse"));
      }
    };
    const ensureDraft = () => {
      if (draft) return;
      showResultShell(q);
      draft = el("p", { className: "answer-text streaming", id: "answer-draft" });
      body.append(el("div", { className: "answer" }, [draft]));
    };

    try {
      while (!finished) {
        const { value, done } = await reader.read();
        const events = done ? parser.feed(decoder.decode()).concat(parser.end()) : parser.feed(decoder.decode(value, { stream: true }));
        for (const ev of events) {
          handle(ev);
          if (finished) break;
        }
        if (done) break;
      }
    } finally {
      reader.cancel().catch(() => {}); // a no-op after a clean end; stops the download after `done` or an error
    }
    if (!finished) throw new ShownError(t("streamCut"));
  }

  async function ask(q) {
    if (current) current.abort();
    const ctrl = new AbortController();
    current = ctrl;
    const stream = !summarizeWrap.hidden && summarizeBox.checked;
    const payload = { question: q, top_k: 5 };
    if (stream) {
      payload.summarize = true;
      payload.stream = true;
    }
    clearResult();
    setLoading(true);
    announce(stream ? "writing" : "searching");
    try {
      let res;
      try {
        res = await fetch("/v1/ask", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: stream ? "text/event-stream, application/json" : "application/json" },
          body: JSON.stringify(payload),
          signal: ctrl.signal,
        });
      } catch (e) {
        if (e && e.name === "AbortError") throw e;
        throw new ShownError(t("networkError"));
      }
      if (!res.ok) throw new ShownError(await errorMessage(res));
      const type = res.headers.get("Content-Type") || "";
      if (stream && type.includes("text/event-stream") && res.body) {
        await readStream(q, res);
      } else {
        let data;
        try { data = await res.json(); } catch (e) {
          if (e && e.name === "AbortError") throw e;
          throw new ShownError(t("badResponse"));
        }
        if (current !== ctrl) return;
        renderResponse(q, data);
      }
    } catch (e) {
      if (current !== ctrl || (e && e.name === "AbortError")) return; // superseded by a newer question
      showError(q, e instanceof ShownError ? e.message : t("networkError"));
      if (!(e instanceof ShownError)) console.error(e);
    } finally {
      if (current === ctrl) {
        current = null;
        setLoading(false);
      }
    }
  }

  function clearQuestionError() {
    questionError.hidden = true;
    questionError.removeAttribute("data-i18n");
    questionError.textContent = ""; // still referenced by aria-describedby: keep it silent
    question.removeAttribute("aria-invalid");
  }

  function submitQuestion() {
    const q = question.value.trim();
    if (!q) {
      tr(questionError, "emptyQuestion");
      questionError.hidden = false;
      question.setAttribute("aria-invalid", "true");
      question.focus();
      return;
    }
    clearQuestionError();
    ask(q);
  }

  // ---------------------------------------------------------------------------------------- readiness

  async function checkReady() {
    readyTries += 1;
    let res;
    let b = null;
    try {
      res = await fetch("/readyz", { headers: { Accept: "application/json" } });
      b = await res.json();
    } catch (e) {
      return; // unreachable: asking will say so
    }
    if (!res.ok) {
      tr(notice, "notReady");
      notice.hidden = false;
      if (readyTries < 20) window.setTimeout(checkReady, 3000);
      return;
    }
    notice.hidden = true;
    if (b && b.llm === true) {
      summarizeWrap.hidden = false;
      summarizeBox.checked = storageGet(SUMMARIZE_KEY) === "1";
    }
  }

  // --------------------------------------------------------------------------------------------- start

  function init() {
    form = document.getElementById("ask-form");
    question = document.getElementById("question");
    questionError = document.getElementById("question-error");
    submitLabel = document.getElementById("submit-label");
    summarizeWrap = document.getElementById("summarize-wrap");
    summarizeBox = document.getElementById("summarize");
    live = document.getElementById("live");
    result = document.getElementById("result");
    asked = document.getElementById("asked");
    body = document.getElementById("result-body");
    notice = document.getElementById("service-notice");

    setLang(initialLang());

    document.querySelectorAll("#lang-toggle [data-lang]").forEach((b) => {
      b.addEventListener("click", () => {
        setLang(b.dataset.lang);
        storageSet(LANG_KEY, uiLang);
      });
    });

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitQuestion();
    });

    question.addEventListener("keydown", (e) => {
      // Enter asks, Shift+Enter is a new line; never while an IME (Chinese input) is composing.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submitQuestion();
      }
    });

    question.addEventListener("input", () => {
      if (!questionError.hidden && question.value.trim()) clearQuestionError();
    });

    document.querySelectorAll(".chip").forEach((chip) => {
      chip.addEventListener("click", () => {
        question.value = chip.textContent;
        submitQuestion();
      });
    });

    summarizeBox.addEventListener("change", () => storageSet(SUMMARIZE_KEY, summarizeBox.checked ? "1" : "0"));

    checkReady();
  }

  window.RagPage = Object.freeze({ SSEParser });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
