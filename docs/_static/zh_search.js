/*
 * Chinese query segmentation for Sphinx's search (Sphinx 8 searchtools.js).
 *
 * Sphinx cuts the pages into words with jieba when it builds the index, but it looks up
 * the query as typed: "知识蒸馏" is one word to it and misses pages indexed under
 * "知识" and "蒸馏". This replaces the global splitQuery() that searchtools.js calls:
 * every run of Chinese characters is cut by greedy longest match against the terms of
 * the loaded index itself, so a query is split the way the pages were. Latin words,
 * numbers and mixed queries ("VAE 损失", "DDPM采样") are split as Sphinx does.
 * Single characters that are no index term (的, 和, ...) are dropped: the index keeps no
 * one-character words, and a required term that matches nothing would empty the result.
 */
(function () {
  "use strict";
  const HAN = /[\u3400-\u9fff\uf900-\ufaff]/u;
  const RUNS = /([\u3400-\u9fff\uf900-\ufaff]+)|([^\u3400-\u9fff\uf900-\ufaff]+)/gu;
  const WORDS = /[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu;
  let cachedIndex = null;
  let vocabulary = new Set();
  let longest = 1;

  function indexVocabulary() {
    const index = typeof Search !== "undefined" ? Search._index : null;
    if (!index) return null;
    if (index !== cachedIndex) {
      vocabulary = new Set();
      longest = 1;
      for (const table of [index.terms, index.titleterms]) {
        for (const term of Object.keys(table || {})) {
          if (HAN.test(term)) {
            vocabulary.add(term);
            longest = Math.max(longest, term.length);
          }
        }
      }
      cachedIndex = index;
    }
    return vocabulary;
  }

  /* Greedy longest match of one run of Chinese characters against the index terms. */
  function segmentRun(run, words) {
    const found = [];
    let i = 0;
    while (i < run.length) {
      let match = null;
      for (let j = Math.min(run.length, i + longest); j >= i + 2; j--) {
        if (words.has(run.slice(i, j))) {
          match = run.slice(i, j);
          break;
        }
      }
      if (match) {
        found.push(match);
        i += match.length;
      } else {
        i += 1; // a character that starts no index term
      }
    }
    // Nothing of the run is in the index: keep it whole so that Sphinx's partial
    // matching (terms containing the query word) still has a chance.
    return found.length ? found : [run];
  }

  /*
   * A reader may type a translation the book does not use (缩放定律 for 规模定律): the
   * glossary lists such variants ("不用：…"), and the build hands them over as
   * window.SURVEY_SYNONYMS = {variant: term}. The query is searched as if the book's
   * own term had been typed.
   */
  function canonicalTerms(query) {
    const synonyms = window.SURVEY_SYNONYMS || {};
    const variants = Object.keys(synonyms).sort((a, b) => b.length - a.length);
    let out = query;
    for (const variant of variants) out = out.split(variant).join(synonyms[variant]);
    return out;
  }

  function splitChineseQuery(query) {
    query = canonicalTerms(query);
    const words = indexVocabulary();
    const terms = [];
    for (const chunk of query.split(WORDS)) {
      if (!chunk) continue;
      if (!HAN.test(chunk)) {
        terms.push(chunk);
        continue;
      }
      for (const m of chunk.matchAll(RUNS)) {
        if (m[2]) terms.push(m[2]);
        else if (words) terms.push(...segmentRun(m[1], words));
        else terms.push(m[1]);
      }
    }
    return terms;
  }

  /*
   * Every glossary term is also an index entry, and Sphinx scores an exact index-entry
   * match at 100, far above a page whose title has the word (15). A reader who types a
   * term wants the chapter that explains it first and the one-line definition next, so
   * glossary entries are capped just below a title match.
   */
  const GLOSSARY_CAP = 14;
  /*
   * Sphinx gives a page the score of its best-matching query word only, so for a query
   * of several words a page whose title has one of them ties with a page whose title
   * has all of them. For queries of two or more words, each word found in the page's
   * title adds TITLE_WORD_BONUS.
   */
  const TITLE_WORD_BONUS = 5;
  let lastWords = [];

  /* Is the word in the page's own title (not a section heading: pages that gather many
   * sections, like the gallery index, would otherwise win every query)? */
  function inTitle(word, docname) {
    const index = Search._index;
    const file = index.docnames.indexOf(docname);
    if (file < 0) return false;
    return String(index.titles[file] || "").toLowerCase().includes(word);
  }

  /*
   * An API object whose name merely contains a query word (vae_loss for "VAE") scores
   * above a chapter that explains the concept (a partial object match 6, plus 5 for its
   * priority, against 5 for a word in the text). Only an object named exactly by the
   * query keeps its score; the others rank below the chapters.
   */
  const OBJECT_PARTIAL_CAP = 4;
  /*
   * A word found in the text scores the same (5) on every page that has it, and Sphinx
   * breaks ties by title, so "VAE" listed API pages before the chapter on autoencoders.
   * Among equal scores a chapter of the survey goes first; any title match still wins.
   */
  const CHAPTER_BONUS = 1;
  /*
   * A query that names a glossary term ("VAE", "GAN", "变分自编码器") is a concept: the
   * chapter the glossary points to for it (window.SURVEY_CONCEPTS) goes above every other
   * page, API objects named by the same word included.
   */
  const CONCEPT_BONUS = 30;

  function conceptChapters() {
    const concepts = window.SURVEY_CONCEPTS || {};
    return new Set(lastWords.map((w) => concepts[w]).filter(Boolean));
  }

  function rescore(result) {
    const [docname, title, , , score, , kind] = result;
    if (docname === "glossary" && kind === "index") return Math.min(score, GLOSSARY_CAP);
    if (conceptChapters().has(docname) && kind !== "object") return score + CONCEPT_BONUS;
    if (kind === "object") {
      const name = String(title).split(".").pop().toLowerCase();
      return lastWords.includes(name) ? score : Math.min(score, OBJECT_PARTIAL_CAP);
    }
    const chapter = docname.startsWith("survey/") && kind === "text" ? CHAPTER_BONUS : 0;
    if (lastWords.length < 2 || typeof Search === "undefined") {
      return score + chapter;
    }
    const hits = lastWords.filter((word) => inTitle(word, docname)).length;
    return score + chapter + TITLE_WORD_BONUS * hits;
  }
  function installScorer() {
    if (typeof Scorer !== "undefined" && !Scorer.score) Scorer.score = rescore;
  }

  window.splitChineseQuery = function (query) {
    installScorer();
    const words = splitChineseQuery(query);
    lastWords = [...new Set(words.map((w) => w.toLowerCase()))];
    return words;
  };
  window.splitQuery = window.splitChineseQuery;
  document.addEventListener("DOMContentLoaded", installScorer);
})();
