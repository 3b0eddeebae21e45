// Hover previews: once sphinx-tippy gives a link a rich preview (a citation's full entry,
// a glossary entry, an equation), the link's plain title tooltip (sphinxcontrib-bibtex's
// bibtex_tooltips, kept for readers without JavaScript) would show on top of it; drop it.
// Loaded after tippy-bundle.umd.min.js and before the page's previews are created (onload);
// pages without a source (the index, search, highlighted code) load no Tippy at all.
if (window.tippy) {
  tippy.setDefaultProps({
    onCreate(instance) {
      instance.reference.removeAttribute("title");
    },
  });
}
