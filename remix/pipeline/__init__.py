"""Remix as a library: track the subject of a published video, swap what is behind them."""
