//! The omnibus binary: runs one service or all of them in one process
