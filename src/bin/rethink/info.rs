//! `rethink models` and `rethink data`.
use super::*;

pub(crate) fn models_cmd(json: bool) -> Result<()> {
    let shapes = [(1i64, 28i64), (3, 28), (3, 32)];
    let mut rows = Vec::new();
    for &kind in ModelKind::all() {
        let mut counts = serde_json::Map::new();
        for (c, s) in shapes {
            let n = models::param_count(kind, &models::Config::new(c, s, 10))?;
            counts.insert(format!("{c}x{s}x{s}"), n.into());
        }
        rows.push((kind, counts));
    }
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|(k, c)| serde_json::json!({"model": k.name(), "params": c, "classes": 10}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{:<16}{:>14}{:>14}{:>14}",
            "model", "1x28x28", "3x28x28", "3x32x32"
        );
        for (k, c) in rows {
            let n = |key: &str| c[key].as_i64().unwrap_or_default();
            println!(
                "{:<16}{:>14}{:>14}{:>14}",
                k.name(),
                n("1x28x28"),
                n("3x28x28"),
                n("3x32x32")
            );
        }
    }
    Ok(())
}

pub(crate) fn data_cmd(action: DataAction) -> Result<()> {
    match action {
        DataAction::Fetch(a) => {
            let dir = data::fetch_dir(a.dataset, a.data_dir.as_deref())?;
            let pb = ProgressBar::new(0);
            pb.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                    .expect("valid template"),
            );
            let got = data::fetch::fetch(a.dataset, &dir, &mut |name, done, total| {
                pb.set_message(name.to_string());
                if let Some(t) = total {
                    pb.set_length(t);
                }
                pb.set_position(done);
            });
            pb.finish_and_clear();
            for v in got? {
                println!("ok {} (md5 {})", v.path.display(), v.md5);
            }
        }
        DataAction::Verify(a) => {
            for v in data::verify(a.dataset, a.data_dir.as_deref())? {
                let how = if v.exact {
                    "matches the published md5"
                } else {
                    "recompressed copy: decompressed payload matches upstream"
                };
                println!("ok {}: {how}", v.path.display());
            }
        }
        DataAction::Info(a) => {
            let located = data::locate(a.dataset, a.data_dir.as_deref())?;
            let raw = data::load_located(a.dataset, &located)?;
            println!("data set: {}", a.dataset);
            for f in &raw.files {
                println!("file: {}", f.display());
            }
            for (name, s) in [("train", &raw.train), ("test", &raw.test)] {
                let size = s.images.size();
                let (mean, std) =
                    data::channel_stats(&(s.images.to_kind(tch::Kind::Float) / 255.0));
                let fmt = |v: &[f64]| {
                    v.iter()
                        .map(|x| format!("{x:.4}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!(
                    "{name}: {} images of {}x{}x{}; per-channel mean [{}], std [{}] (pixels in [0, 1])",
                    size[0],
                    size[1],
                    size[2],
                    size[3],
                    fmt(&mean),
                    fmt(&std)
                );
            }
            let shared = data::shared_images(&raw, None, None, data::Subset::First)?;
            match shared.as_slice() {
                [] => println!("train/test: no test image is a training image (compared by the md5 of its pixels)"),
                some => {
                    let shown: Vec<String> = some
                        .iter()
                        .take(10)
                        .map(|s| format!("test {} = train {:?}", s.test, s.train))
                        .collect();
                    println!(
                        "train/test: {} test images are also training images, byte for byte (a preset whose subsets hold both reads them as test images): {}{}",
                        some.len(),
                        shown.join(", "),
                        if some.len() > 10 { ", ..." } else { "" }
                    );
                }
            }
        }
    }
    Ok(())
}
