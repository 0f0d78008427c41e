//! libtorch is linked and computes: a matrix product checked against plain Rust.
use tch::{Kind, Tensor};

#[test]
fn libtorch_matmul_matches_rust() {
    let (n, k, m) = (7usize, 5usize, 3usize);
    let a: Vec<f64> = (0..n * k)
        .map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0)
        .collect();
    let b: Vec<f64> = (0..k * m)
        .map(|i| ((i * 13 % 7) as f64 - 3.0) / 2.0)
        .collect();
    let mut expected = vec![0.0f64; n * m];
    for i in 0..n {
        for j in 0..m {
            expected[i * m + j] = (0..k).map(|l| a[i * k + l] * b[l * m + j]).sum();
        }
    }
    let ta = Tensor::from_slice(&a).reshape([n as i64, k as i64]);
    let tb = Tensor::from_slice(&b).reshape([k as i64, m as i64]);
    let got = Vec::<f64>::try_from(ta.matmul(&tb).reshape([-1])).unwrap();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() < 1e-12, "{g} != {e}");
    }
    // And in f32, the models' precision.
    let got32 = ta
        .to_kind(Kind::Float)
        .matmul(&tb.to_kind(Kind::Float))
        .to_kind(Kind::Double);
    let err = (got32 - Tensor::from_slice(&expected).reshape([n as i64, m as i64]))
        .abs()
        .max();
    assert!(err.double_value(&[]) < 1e-5);
}
