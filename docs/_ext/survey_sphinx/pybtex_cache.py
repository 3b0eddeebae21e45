"""Look pybtex's plugins up once per build, not once per formatted name.

pybtex finds a plugin (a backend such as ``text`` or ``html``, a style) by scanning the
entry points of every installed distribution, and it does so on every
``Text.render_as(...)`` call. sphinxcontrib-bibtex formats every bibliography on every
build, even when nothing changed, and the project's GB/T 7714 style renders each name and
title field; with this virtual environment's few hundred distributions that scan made
bibliography formatting most of a no-change rebuild (measured with cProfile: about 3,400
scans, 80 % of the rebuild's time).

pybtex checks plugins registered at run time (:func:`pybtex.plugin.register_plugin`)
before scanning entry points. This extension registers every plugin the installed
entry points offer, once, as a run-time plugin of the same name, so every later lookup
is a dictionary hit (aliases are also registered under their base group, where pybtex
looks first). Plugins that something else registered at run time are left as they are, so
every lookup returns the same class as before, only faster.
"""

from __future__ import annotations


def register_entry_point_plugins() -> int:
    """Register the entry-point plugins of every pybtex group as run-time plugins."""
    from pybtex import plugin

    runtime = plugin._RUNTIME_PLUGINS  # read only: which names are already registered
    count = 0
    for base in plugin._DEFAULT_PLUGINS:
        for group in (base, base + ".aliases", base + ".suffixes"):
            for entry_point in plugin.entry_points(group=group):
                if entry_point.name in runtime.get(group, {}):
                    continue
                try:
                    klass = entry_point.load()
                except Exception:  # noqa: BLE001 - a broken plugin stays a lazy lookup
                    continue
                plugin.register_plugin(group, entry_point.name, klass, force=True)
                count += 1
        # An alias ("text" for "plaintext") is looked up in the base group first, which
        # would scan again before reaching the alias group: register it there too (the
        # lookup returns the same class either way).
        names = runtime.get(base, {})
        for alias, klass in list(runtime.get(base + ".aliases", {}).items()):
            if alias not in names and not plugin.entry_points(group=base, name=alias):
                plugin.register_plugin(base, alias, klass, force=True)
                count += 1
    return count
