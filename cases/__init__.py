"""Cases: mediation and the showcase-case library (issue 4)."""
