"""The impact report: what the community did over a period, in numbers, without names."""
