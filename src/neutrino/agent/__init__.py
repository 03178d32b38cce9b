"""The host agent: keeps one host's kernel (bridges, VXLAN, veths, nftables) equal to what
the server says, level-triggered (DESIGN §3, decisions 5 and 8). It talks to the server only
over HTTP in the `wire` protocol and never imports the server's packages."""
