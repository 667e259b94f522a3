"""`rl-control monitor`: the graph watched over DDS, in a browser (viser) or a terminal."""
