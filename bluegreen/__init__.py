"""The client side of bluegreen: `cli` (the product CLI), `twin` (the local AWS twin), `proof` (invariants, checks,
benchmarks) and `demo`. Never shipped to Lambda."""
