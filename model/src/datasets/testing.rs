//! Test helpers: one-column arrays and the check every dataset's round-trip test makes.

use arrow_array::types::Int8Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int8Array, Int64Array, RecordBatch,
    StringArray, TimestampNanosecondArray, UInt64Array,
};
use arrow_schema::SchemaRef;
use std::sync::Arc;

pub(crate) fn times(v: &[i64]) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from(v.to_vec()).with_timezone("UTC"))
}
pub(crate) fn floats(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}
pub(crate) fn i64s(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}
pub(crate) fn u64s(v: &[u64]) -> ArrayRef {
    Arc::new(UInt64Array::from(v.to_vec()))
}
pub(crate) fn i8s(v: &[i8]) -> ArrayRef {
    Arc::new(Int8Array::from(v.to_vec()))
}
pub(crate) fn bools(v: &[bool]) -> ArrayRef {
    Arc::new(BooleanArray::from(v.to_vec()))
}
pub(crate) fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}
pub(crate) fn dict(v: &[&str]) -> ArrayRef {
    Arc::new(v.iter().copied().collect::<DictionaryArray<Int8Type>>())
}

/// `batch` has exactly `schema`, `expected` names every column once in schema order, and each
/// column holds the values expected under its name.
pub(crate) fn assert_columns(
    batch: &RecordBatch,
    schema: &SchemaRef,
    expected: &[(&str, ArrayRef)],
) {
    assert_eq!(
        batch.schema(),
        *schema,
        "encoded schema differs from the declared one"
    );
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let listed: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(listed, names, "the test lists every column in schema order");
    for (name, want) in expected {
        let got = batch.column_by_name(name).expect("column present");
        assert_eq!(got.as_ref(), want.as_ref(), "column {name}");
    }
}
