"""The built site in a real browser: headless Chromium (Debian's) driven by Selenium.

The site is served from a thread on 127.0.0.1 and Chromium is told to resolve no other
host, so these tests see the site exactly as a reader with no network would:

- Chinese, English and mixed search queries return the expected page in the top three
  (the query is segmented in the browser by ``_static/zh_search.js``);
- every page loads with no JavaScript error and no broken image;
- math is typeset by MathJax served from the site itself;
- no page asks for anything outside localhost.

``SURVEY_SITE_DIR=/path/to/html`` reuses a built site (see ``conftest.py``).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from pybtex_gbt7714 import bib_order

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "bibtex", ".doctrees"}

# query -> pages (docnames) any of which must be among the first three results: the
# chapter that explains the topic, or the example that demonstrates it.
SEARCH_CASES: dict[str, tuple[str, ...]] = {
    # Chinese, typed without spaces (the case Sphinx alone gets wrong)
    "知识蒸馏": ("survey/06-distillation",),
    "自编码器": ("survey/02-autoencoders",),
    "变分自编码器": (
        "survey/02-autoencoders",
        "auto_examples/02_autoencoders/plot_variational_autoencoder",
    ),
    "生成对抗网络": ("survey/03-generative-gan", "auto_examples/03_generative/plot_gan_ring"),
    "扩散模型": ("survey/03-generative-diffusion",),
    "注意力机制": ("survey/01-attention",),
    "受限玻尔兹曼机": ("survey/03-generative-gan", "auto_examples/03_generative/plot_rbm_cd_pcd"),
    "稀疏自编码器": (
        "survey/02-autoencoders",
        "auto_examples/02_autoencoders/plot_sparse_autoencoder",
    ),
    "去噪自编码器": (
        "survey/02-autoencoders",
        "auto_examples/02_autoencoders/plot_denoising_autoencoder",
    ),
    "思维链": ("survey/07-reasoning", "auto_examples/07_reasoning/plot_chain_of_thought_parity"),
    "大模型的小型化": ("survey/06-distillation",),
    "信息论": ("survey/02-autoencoders",),
    "参考文献": ("references",),
    "术语表": ("glossary",),
    # English
    "Transformer": ("survey/04-transformer", "api/transformer"),
    "VAE": ("api/autoencoders", "survey/02-autoencoders"),
    "DDPM": ("survey/03-generative-diffusion", "auto_examples/03_generative/plot_ddpm_swiss_roll"),
    "autoencoder": ("survey/02-autoencoders", "api/autoencoders"),
    "CLIP": ("auto_examples/03_generative/plot_clip_digits",),
    # a translation the book does not use: the glossary's 不用 line maps it to its term
    "缩放定律": ("survey/05-scaling",),
    # mixed
    "WGAN 梯度惩罚": ("auto_examples/03_generative/plot_wgan_gp",),
    "DDPM采样": (
        "survey/03-generative-diffusion",
        "auto_examples/03_generative/plot_ddim_steps",
        "auto_examples/03_generative/plot_ddpm_swiss_roll",
    ),
    "Transformer注意力": ("survey/04-transformer", "survey/01-attention"),
}


# --------------------------------------------------------------------------------------
# fixtures: a local server and one browser for the module
# --------------------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), (
            f"{path} is missing: install Debian's chromium and chromium-driver "
            "(tools/setup-system.sh does it)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--disable-component-update",
        "--disable-default-apps",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1280,900",
        # a reader without network: no host name other than localhost resolves
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, script: str, timeout: float = 20.0, *args):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for: {script}")


def _docname(href: str) -> str:
    path = urlsplit(href).path.lstrip("/")
    return path[:-5] if path.endswith(".html") else path


# --------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------


def search(driver, server: str, query: str) -> list[str]:
    """Docnames of the results, in the order the search page lists them."""
    driver.get(f"{server}/search.html?q={quote(query)}")
    _wait(
        driver,
        "return typeof Search !== 'undefined' && !!Search.status"
        " && Search.status.innerText.trim().length > 0",
    )
    hrefs = driver.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search > li'))"
        ".map(li => li.querySelector('a').getAttribute('href'))"
    )
    return [_docname(h) for h in hrefs]


@pytest.mark.parametrize("query", list(SEARCH_CASES))
def test_search_finds_expected_page_in_top_three(browser, server, query, record_property):
    results = search(browser, server, query)
    expected = SEARCH_CASES[query]
    rank = next((i for i, doc in enumerate(results, start=1) if doc in expected), None)
    record_property("rank", rank)
    print(f"search {query!r}: expected {expected}, rank {rank}, top 3 {results[:3]}")
    assert rank is not None and rank <= 3, (
        f"{query!r}: expected one of {expected} in the top 3, got {results[:5]}"
    )


# A concept typed by its English abbreviation: the chapter that explains it comes first,
# before API pages whose function names merely contain the word.
CONCEPT_FIRST = {"VAE": "survey/02-autoencoders", "GAN": "survey/03-generative-gan"}


@pytest.mark.parametrize("query", list(CONCEPT_FIRST))
def test_concept_query_finds_its_chapter_first(browser, server, query):
    results = search(browser, server, query)
    assert results and results[0] == CONCEPT_FIRST[query], results[:5]


def test_query_is_segmented_against_the_index(browser, server):
    """The override is active and cuts an unsegmented query into index terms."""
    search(browser, server, "知识蒸馏")
    terms = browser.execute_script("return splitQuery('大模型的小型化与知识蒸馏')")
    index_terms = browser.execute_script(
        "return arguments[0].filter(t => !(t in Search._index.terms)"
        " && !(t in Search._index.titleterms))",
        terms,
    )
    assert len(terms) >= 2, terms
    assert not index_terms, f"segments not in the index: {index_terms} (of {terms})"
    # Sphinx's own splitter keeps the run whole, which is no index term at all
    assert not browser.execute_script("return '大模型的小型化与知识蒸馏' in Search._index.terms")


def test_glossary_terms_are_single_index_words(browser, server):
    """jieba's user dictionary keeps the book's terms whole in the index."""
    search(browser, server, "术语表")
    for term in ("知识蒸馏", "生成对抗网络", "变分自编码器", "受限玻尔兹曼机"):
        assert browser.execute_script(
            "return (arguments[0] in Search._index.terms)"
            " || (arguments[0] in Search._index.titleterms)",
            term,
        ), term


# --------------------------------------------------------------------------------------
# every page: JS errors, broken images, requests beyond localhost
# --------------------------------------------------------------------------------------


def _pages(site: Path) -> list[str]:
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.parts[0] in SKIP_DIRS:
            continue
        pages.append(rel.as_posix())
    return pages


_IMAGES_JS = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(img => { img.loading = 'eager'; });
Promise.all(imgs.map(img => img.complete ? null : new Promise(r => {
  img.addEventListener('load', r); img.addEventListener('error', r);
  setTimeout(r, 5000);
}))).then(() => done(imgs.map(img => [img.currentSrc || img.src, img.complete,
                                       img.naturalWidth])));
"""


@pytest.fixture(scope="module")
def crawl(browser, server, built_site):
    """Visit every page once; collect errors, broken images and outside requests."""
    browser.get_log("performance")  # drop what earlier tests left
    browser.get_log("browser")
    report = {"pages": [], "js_errors": [], "broken_images": [], "outside": []}
    browser.set_script_timeout(30)
    for page in _pages(built_site):
        browser.get(f"{server}/{page}")
        _wait(browser, "return document.readyState === 'complete'")
        for src, complete, width in browser.execute_async_script(_IMAGES_JS):
            if not complete or width == 0:
                if not src.endswith(".svg"):  # an SVG without size reports width 0
                    report["broken_images"].append((page, src))
        if browser.execute_script(
            "return typeof MathJax !== 'undefined'"
            " && !!(MathJax.startup && MathJax.startup.promise)"
        ):
            browser.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "MathJax.startup.promise.then(() => done(true), () => done(false));"
            )
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                report["js_errors"].append((page, entry["message"]))
        for entry in browser.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                url = message["params"]["request"]["url"]
                if not url.startswith((server + "/", "data:", "blob:", "about:")):
                    report["outside"].append((page, url))
        report["pages"].append(page)
    return report


def test_every_page_was_visited(crawl, built_site):
    assert len(crawl["pages"]) >= 20
    assert "index.html" in crawl["pages"] and "search.html" in crawl["pages"]


def test_no_javascript_errors(crawl):
    assert not crawl["js_errors"], "\n".join(f"{p}: {m}" for p, m in crawl["js_errors"])


def test_no_broken_images(crawl):
    assert not crawl["broken_images"], crawl["broken_images"]


def test_no_request_leaves_localhost(crawl):
    assert not crawl["outside"], "\n".join(f"{p}: {u}" for p, u in crawl["outside"][:20])


# --------------------------------------------------------------------------------------
# math, offline
# --------------------------------------------------------------------------------------


def _math_pages(site: Path) -> list[str]:
    pages = []
    for page in _pages(site):
        text = (site / page).read_text(encoding="utf-8")
        if 'class="math' in text:
            pages.append(page)
    return pages


PHONE_WIDTH = 390  # CSS pixels of a common phone


def test_chapters_do_not_scroll_sideways_on_a_phone(browser, server, built_site):
    """Wide display math scrolls inside its own box; the page itself stays phone-wide."""
    chapters = sorted((built_site / "survey").glob("[0-9][0-9]-*.html"))
    browser.set_window_size(PHONE_WIDTH, 844)
    wide = []
    try:
        for page in chapters:
            browser.get(f"{server}/survey/{page.name}")
            _wait(
                browser,
                "return typeof MathJax === 'undefined' || !MathJax.startup"
                " || !!MathJax.startup.promise",
                30,
            )
            browser.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "if (typeof MathJax === 'undefined' || !MathJax.startup) { done(true); }"
                "else MathJax.startup.promise.then(() => done(true), () => done(false));"
            )
            scroll, client = browser.execute_script(
                "return [document.documentElement.scrollWidth,"
                " document.documentElement.clientWidth]"
            )
            if scroll > client + 1:
                wide.append(f"{page.name}: {scroll} px wide in a {client} px window")
    finally:
        browser.set_window_size(1280, 900)
    assert not wide, wide


def test_math_renders_with_site_mathjax(browser, server, built_site):
    pages = _math_pages(built_site)
    assert pages, "no page of the site has math"
    assert (built_site / "_static" / "mathjax" / "tex-mml-chtml.js").exists(), (
        "MathJax is not served from the site (offline build)"
    )
    for page in pages:
        browser.get(f"{server}/{page}")
        src = browser.execute_script(
            "const s = Array.from(document.scripts).find(s => /mathjax/i.test(s.src));"
            "return s ? s.src : null"
        )
        assert src and src.startswith(server + "/"), f"{page}: MathJax from {src}"
        _wait(
            browser,
            "return typeof MathJax !== 'undefined' && !!MathJax.startup"
            " && !!MathJax.startup.promise",
            30,
        )
        assert browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "MathJax.startup.promise.then(() => done(true), () => done(false));"
        )
        counts = browser.execute_script(
            "return [document.querySelectorAll('.math').length,"
            " document.querySelectorAll('mjx-container').length,"
            " document.querySelectorAll('mjx-merror, mjx-container [data-mjx-error]').length,"
            " document.querySelectorAll('.math mjx-container').length]"
        )
        n_math, n_rendered, n_errors, n_inside = counts
        assert n_rendered >= 1, f"{page}: no MathJax output"
        assert n_inside == n_math, f"{page}: {n_math - n_inside} math elements not typeset"
        assert n_errors == 0, f"{page}: {n_errors} MathJax errors"
        # the CHTML fonts came from the site too
        fonts = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => /woff/.test(n))"
        )
        assert all(f.startswith(server + "/") for f in fonts), fonts


# --------------------------------------------------------------------------------------
# BibTeX downloads and glossary links (static checks of the same built site)
# --------------------------------------------------------------------------------------

_BIB_KEY = re.compile(r"^@\w+\{([^,\s]+),", re.MULTILINE)


def test_each_reference_list_offers_its_own_bibtex(built_site):
    pages = [
        p
        for p in _pages(built_site)
        if "bibtex-download" in (built_site / p).read_text(encoding="utf-8")
    ]
    assert "references.html" in pages and len(pages) >= 2
    full = (built_site / "bibtex" / "references.bib").read_text(encoding="utf-8")
    root_bib = Path(__file__).resolve().parents[1] / "references.bib"
    assert full == root_bib.read_text(encoding="utf-8"), (
        "the site's bibtex/references.bib differs from the repository's: a stale site?"
    )
    for page in pages:
        html = (built_site / page).read_text(encoding="utf-8")
        href = re.search(r'class="bibtex-download-link[^"]*" href="([^"]+)"', html).group(1)
        target = (built_site / page).parent / href
        assert target.exists(), f"{page}: {href} missing"
        if page == "references.html":
            continue
        # the file holds exactly the works of the page's own list: compare the list's
        # labels with the works' numbers (their positions in references.bib)
        labels = set(
            re.findall(
                r'<div class="citation"[^>]*>\s*<span class="label"><span class="fn-bracket">'
                r"\[</span>(?:<a [^>]*>)?(\d+)<",
                html,
            )
        )
        keys = _BIB_KEY.findall(target.read_text(encoding="utf-8"))
        assert keys, f"{page}: empty BibTeX download"
        numbers = {str(bib_order(root_bib)[k.lower()]) for k in keys}
        assert numbers == labels and len(keys) == len(labels), (page, sorted(keys), labels)


def test_glossary_terms_link_at_first_use(built_site):
    html = (built_site / "survey" / "02-autoencoders.html").read_text(encoding="utf-8")
    links = re.findall(
        r'class="glossary-first-use[^"]*" href="\.\./glossary\.html#([^"]+)">'
        r'<span class="xref std std-term">([^<]+)</span>',
        html,
    )
    assert links, "no glossary link on the autoencoder chapter"
    terms = [t for _, t in links]
    assert len(terms) == len(set(terms)), "a term linked more than once on one page"
    glossary = (built_site / "glossary.html").read_text(encoding="utf-8")
    for anchor, _ in links:
        assert f'id="{anchor}"' in glossary


# --------------------------------------------------------------------------------------
# hover previews (sphinx-tippy; built into each page's script, no server)
# --------------------------------------------------------------------------------------
HOVER_PAGE = "survey/01-attention.html"


def _hover(driver, link) -> tuple[str, str]:
    """Move the mouse onto ``link``; the text and HTML of the preview that opens."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    ActionChains(driver).move_to_element(link).perform()
    return tuple(
        _wait(
            driver,
            "const box = arguments[0]._tippy && arguments[0]._tippy.popper"
            "  .querySelector('.tippy-content');"
            "return box && box.textContent.trim() ? [box.textContent, box.innerHTML] : null;",
            20.0,
            link,
        )
    )


def _open_for_hover(driver, server: str, page: str) -> None:
    driver.get(f"{server}/{page}")
    # the previews are made at window.onload; a link has one when it has ``_tippy``
    _wait(driver, "return document.readyState === 'complete' && !!window.tippy;")


def test_hovering_a_citation_shows_its_full_reference(browser, server):
    _open_for_hover(browser, server, HOVER_PAGE)
    link = browser.execute_script(
        "return [...document.querySelectorAll('a[href^=\"#\"]')].find(a => {"
        "  const t = document.getElementById(a.getAttribute('href').slice(1));"
        "  return t && t.matches('div.citation') && a.closest('p'); });"
    )
    assert link is not None, f"no citation link on {HOVER_PAGE}"
    entry = browser.execute_script(
        "return document.getElementById(arguments[0].getAttribute('href').slice(1))"
        "  .querySelector('p').textContent;",
        link,
    )
    text, _ = _hover(browser, link)
    assert " ".join(entry.split()) in " ".join(text.split())  # the whole GB/T 7714 entry
    # no plain title tooltip on top of it
    assert browser.execute_script("return arguments[0].hasAttribute('title');", link) is False


def _glossary_entries() -> dict[str, tuple[str, str]]:
    """Chinese term -> (English name, definition) from docs/glossary.md."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "glossary.md").read_text("utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    entries = {}
    for chunk in block.strip().split("\n\n"):
        lines = chunk.splitlines()
        terms = [line for line in lines if not line.startswith(" ")]
        definition = " ".join(line.strip() for line in lines if line.startswith(" "))
        if len(terms) >= 2:
            entries[terms[0]] = (terms[1], definition)
    return entries


def test_hovering_a_glossary_term_shows_its_english_name_and_definition(browser, server):
    _open_for_hover(browser, server, HOVER_PAGE)
    link = browser.find_element("css selector", "a.glossary-first-use")
    term = link.text.strip()
    english, definition = _glossary_entries()[term]
    text, _ = _hover(browser, link)
    assert term in text and english in text
    assert definition.split("。")[0] in text  # its first sentence, as written


def test_hovering_an_equation_reference_shows_the_typeset_equation(browser, server):
    _open_for_hover(browser, server, HOVER_PAGE)
    link = browser.find_element("css selector", 'p a[href^="#equation-"]')
    _, html = _hover(browser, link)
    _wait(
        browser,
        "return !!arguments[0]._tippy.popper.querySelector('.tippy-content mjx-container');",
        20.0,
        link,
    )  # MathJax, served by the site, typeset the copy inside the preview
    assert "math" in html


def test_hovering_a_figure_mention_shows_the_figure(browser, server):
    _open_for_hover(browser, server, HOVER_PAGE)
    link = browser.find_element("css selector", "p a.figure-mention")
    target = link.get_attribute("href").split("#", 1)[1]
    caption = browser.execute_script(
        "return document.getElementById(arguments[0]).querySelector('figcaption').textContent.trim();",
        target,
    )
    assert caption.startswith(link.text.strip() + "\u3000")  # the mention's own figure
    text, html = _hover(browser, link)
    assert "<img" in html and " ".join(caption.split())[:20] in " ".join(text.split())
