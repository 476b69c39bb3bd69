//! daedalus-dataflow
