//! The published numbers of Zhang et al. 2017 as typed data, parsed once from
//! golden/paper.json: Table 1, CIFAR-10 train and test accuracy of each model with random
//! crop, weight decay and random labels on or off. The claims (`near_paper`) and the report's
//! table both read a run's row here, by the one rule [`table1_row`].
use crate::data::DatasetKind;
use crate::experiment::Experiment;
use crate::randomize::Randomization;
use serde::Deserialize;
use std::sync::LazyLock;

/// golden/paper.json, compiled in.
pub const PAPER_JSON: &str = include_str!("../golden/paper.json");

/// One row of Table 1. Accuracies in percent, as printed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawRow")]
pub struct Table1Row {
    /// The model's name as `rethink` spells it (`inception`, `alexnet`, `mlp1x512`...).
    pub model: String,
    pub params: i64,
    pub random_crop: bool,
    pub weight_decay: bool,
    pub random_labels: bool,
    pub train_acc: f64,
    pub test_acc: f64,
}

/// A row as the file holds it: an array in the order of its `columns`.
#[derive(Deserialize)]
struct RawRow(String, i64, bool, bool, bool, f64, f64);

impl From<RawRow> for Table1Row {
    fn from(r: RawRow) -> Self {
        Table1Row {
            model: r.0,
            params: r.1,
            random_crop: r.2,
            weight_decay: r.3,
            random_labels: r.4,
            train_acc: r.5,
            test_acc: r.6,
        }
    }
}

#[derive(Deserialize)]
struct Table1 {
    rows: Vec<Table1Row>,
}

#[derive(Deserialize)]
struct Paper {
    table1_cifar10: Table1,
}

/// Table 1's rows. The file is part of the build, and a unit test reads it, so a malformed
/// one fails the tests rather than a run.
pub fn table1() -> &'static [Table1Row] {
    static ROWS: LazyLock<Vec<Table1Row>> = LazyLock::new(|| {
        serde_json::from_str::<Paper>(PAPER_JSON)
            .expect("golden/paper.json parses (paper::tests)")
            .table1_cifar10
            .rows
    });
    &ROWS
}

/// The Table 1 row a run of `exp` reproduces: on CIFAR-10, without dropout (Table 1 has
/// none), with true or random labels, and the same model, random crop and weight decay on or
/// off. `None` for any other run.
pub fn table1_row(exp: &Experiment) -> Option<&'static Table1Row> {
    let random_labels = match exp.randomization {
        Randomization::TrueLabels => false,
        Randomization::RandomLabels => true,
        _ => return None,
    };
    if exp.dataset != DatasetKind::Cifar10 || exp.dropout != 0.0 {
        return None;
    }
    let model = exp.model.to_string();
    table1().iter().find(|r| {
        r.model == model
            && r.random_crop == exp.train.augment
            && r.weight_decay == (exp.train.weight_decay > 0.0)
            && r.random_labels == random_labels
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table1_parses_and_matches_runs_by_one_rule() {
        assert_eq!(table1().len(), 19, "{:?}", table1());
        let alexnet = Experiment::preset("cifar10-alexnet-true-labels").unwrap();
        let row = table1_row(&alexnet).unwrap();
        assert_eq!((row.train_acc, row.test_acc), (100.0, 76.07));
        let random = Experiment::preset("cifar10-alexnet-random-labels").unwrap();
        assert_eq!(table1_row(&random).unwrap().test_acc, 9.86);
        // No row: another data set, dropout, another randomization.
        for name in [
            "fashion-alexnet-true-labels",
            "cifar10-alexnet-dropout-random-labels",
            "cifar10-alexnet-random-pixels",
        ] {
            let e = Experiment::preset(name).unwrap();
            assert!(table1_row(&e).is_none(), "{name}");
        }
    }
}
