//! A test client that speaks LSP to the real `nextedit` binary or to the server in-process.
