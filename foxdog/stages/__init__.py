"""One thin module per DVC stage: each ``run`` reads inputs, calls the library, writes outputs."""
