//! Evaluation in chunks as large as memory allows.
//!
//! libtorch (and tch) can tell how much memory a device has in use but not how much a
//! forward pass will need, so the size is found by trying: a chunk starts at
//! [`EvalChunk::start`] images and, when the allocator refuses it (an out-of-memory error
//! from libtorch's CUDA or CPU allocator), is halved and the same images tried again. The
//! size that worked is kept for the rest of the run, so the search happens once. Any other
//! error is passed on unchanged, and an image that does not fit even alone is an
//! [`Error::OutOfMemory`].
//!
//! - **CUDA** starts at the whole set up to [`CUDA_CHUNK_CAP`] = 8,192 images: a 10,000-
//!   or 50,000-image evaluation is a handful of forward passes, which is where a GPU is
//!   fastest. The cap keeps every intermediate tensor below 2^31 elements, a size class
//!   where CUDA kernels have a history of index overflows: an illegal memory access is not
//!   an out-of-memory error, so halving would never recover from one, and it poisons the
//!   CUDA context. The largest per-image intermediate of the paper's models is Inception's
//!   stem, 96×28×28 = 75,264 elements (ResNet18's 64×32×32 = 65,536, AlexNet's 64×28×28 =
//!   50,176), so a chunk's largest tensor stays under 8,192 × 75,264 ≈ 6.2e8, a third of
//!   2^31, with room for a wider input.
//! - **CPU** starts at [`CPU_CHUNK`] = 1,024. Memory is rarely the limit there, a larger chunk
//!   is no faster on a few cores, and the chunk size is part of what makes the CPU metrics
//!   what they are: MKL and oneDNN may block a matrix product differently for another batch,
//!   which moves losses in their last bits. Keeping 1,024 keeps every seeded CPU result.
use super::prepare::in_layout;
use crate::error::{Error, Result};
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use tch::nn::ModuleT;
use tch::{Device, Kind, Reduction, Tensor};

/// The first chunk size on CPU (see the module doc).
pub const CPU_CHUNK: i64 = 1024;

/// The largest chunk on CUDA: no intermediate tensor may reach 2^31 elements (see the
/// module doc).
pub const CUDA_CHUNK_CAP: i64 = 8192;

/// The most elements one intermediate tensor of an evaluation chunk may hold.
pub const MAX_INTERMEDIATE_ELEMENTS: i64 = 1 << 31;

/// The chunk size of one run's evaluations: where it starts, and how far it has shrunk.
#[derive(Debug)]
pub struct EvalChunk {
    size: Cell<i64>,
    halvings: Cell<u32>,
}

impl EvalChunk {
    /// Starting at `size` images (at least 1).
    pub fn new(size: i64) -> Self {
        EvalChunk {
            size: Cell::new(size.max(1)),
            halvings: Cell::new(0),
        }
    }

    /// The starting size for evaluations of up to `n` images on `device`: the whole set on
    /// CUDA (and other accelerators) up to [`CUDA_CHUNK_CAP`], [`CPU_CHUNK`] on CPU.
    pub fn start(device: Device, n: i64) -> Self {
        match device {
            Device::Cpu => Self::new(CPU_CHUNK),
            _ => Self::new(n.min(CUDA_CHUNK_CAP)),
        }
    }

    /// The size the next chunk will be tried at.
    pub fn size(&self) -> i64 {
        self.size.get()
    }

    /// How many times the allocator refused a chunk and the size was halved.
    pub fn halvings(&self) -> u32 {
        self.halvings.get()
    }

    /// Runs `f(start, len)` over `0..n` in consecutive chunks, in order, halving the size
    /// and retrying the same `start` whenever `f` fails for want of memory. `what` names
    /// the evaluation in the error when a single image does not fit.
    pub fn for_each<F>(&self, n: i64, what: &str, mut f: F) -> Result<()>
    where
        F: FnMut(i64, i64),
    {
        let mut start = 0;
        while start < n {
            let len = self.size().min(n - start);
            match quietly_catching_oom(|| f(start, len)) {
                Ok(()) => start += len,
                Err(_) if len > 1 => {
                    self.size.set(len / 2);
                    self.halvings.set(self.halvings.get() + 1);
                }
                Err(message) => {
                    return Err(Error::OutOfMemory {
                        what: format!("{what}: one image at a time does not fit"),
                        source: tch::TchError::Torch(message),
                    })
                }
            }
        }
        Ok(())
    }
}

/// Whether a libtorch error message says that an allocation failed: CUDA's caching
/// allocator ("CUDA out of memory"), the CPU allocator ("not enough memory", "can't
/// allocate memory"), or a cuDNN/cuBLAS workspace that could not be allocated.
pub fn is_out_of_memory(message: &str) -> bool {
    const MARKERS: [&str; 5] = [
        "out of memory",
        "not enough memory",
        "can't allocate memory",
        "ALLOC_FAILED",
        "NOT_ALLOCATED",
    ];
    MARKERS.iter().any(|m| message.contains(m))
}

/// A panic payload's message, when it has one.
fn payload_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
}

thread_local! {
    /// Set while this thread runs an evaluation chunk that may be retried smaller.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, returning the message of an out-of-memory panic instead of unwinding; any
/// other panic continues. tch turns libtorch's errors into panics in the infallible
/// methods models are written with (`forward_t`), so this is where they are caught. While
/// `f` runs, an out-of-memory panic is not printed by the panic hook: it is expected, and
/// handled by retrying.
fn quietly_catching_oom(f: impl FnOnce()) -> std::result::Result<(), String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let expected = CATCHING.with(Cell::get)
                && payload_message(info.payload()).is_some_and(is_out_of_memory);
            if !expected {
                previous(info)
            }
        }));
    });
    let was = CATCHING.with(|c| c.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    match outcome {
        Ok(()) => Ok(()),
        Err(payload) => match payload_message(payload.as_ref()) {
            Some(m) if is_out_of_memory(m) => Err(m.to_string()),
            _ => panic::resume_unwind(payload),
        },
    }
}

/// Loss and accuracy of `model` in eval mode over `(x, y)`, without gradients, in chunks as
/// large as memory allows from the device's starting size ([`EvalChunk::start`]); also
/// the per-example correctness.
pub fn evaluate(model: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Result<(f64, f64, Tensor)> {
    let chunk = EvalChunk::start(x.device(), y.size()[0]);
    evaluate_in(model, x, y, &chunk, false, false, "evaluation")
}

/// `evaluate` in `chunk`'s size (which shrinks where memory is short), with every chunk in
/// channels-last layout when `channels_last`, and the forward pass under autocast when
/// `amp` (as training runs it; the loss is summed in fp32). `what` names the set in errors.
pub(super) fn evaluate_in(
    model: &dyn ModuleT,
    x: &Tensor,
    y: &Tensor,
    chunk: &EvalChunk,
    channels_last: bool,
    amp: bool,
    what: &str,
) -> Result<(f64, f64, Tensor)> {
    let _guard = tch::no_grad_guard();
    let n = y.size()[0];
    let mut loss = Tensor::zeros([], (Kind::Double, x.device()));
    let mut correct = Vec::new();
    chunk.for_each(n, what, |start, len| {
        let xb = in_layout(x.narrow(0, start, len), channels_last);
        let yb = y.narrow(0, start, len);
        // Autocast is switched off again before a failed chunk unwinds past it.
        let logits = tch::autocast(amp, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.forward_t(&xb, false)))
        })
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        .to_kind(Kind::Float);
        let chunk_loss = logits
            .cross_entropy_loss::<Tensor>(&yb, None, Reduction::Sum, -100, 0.0)
            .to_kind(Kind::Double);
        let chunk_correct = logits.argmax(-1, false).eq_tensor(&yb);
        // Only a chunk that finished counts: a refused one is tried again, smaller.
        loss += chunk_loss;
        correct.push(chunk_correct);
    })?;
    let correct = Tensor::cat(&correct, 0);
    let acc = correct
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[]);
    Ok((loss.double_value(&[]) / n as f64, acc, correct))
}

pub(super) fn masked_acc(correct: &Tensor, mask: &Tensor) -> f64 {
    let sel = correct.masked_select(mask);
    if sel.numel() == 0 {
        return f64::NAN;
    }
    sel.to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_memory_messages_are_recognized_and_others_are_not() {
        assert!(is_out_of_memory(
            "Torch(\"CUDA out of memory. Tried to allocate 20.00 GiB\")"
        ));
        assert!(is_out_of_memory(
            "DefaultCPUAllocator: not enough memory: you tried to allocate 4 bytes"
        ));
        assert!(is_out_of_memory("CUDNN_STATUS_ALLOC_FAILED"));
        assert!(!is_out_of_memory(
            "mat1 and mat2 shapes cannot be multiplied"
        ));
    }

    #[test]
    fn a_refused_chunk_is_halved_retried_and_the_size_kept() {
        let chunk = EvalChunk::new(1000);
        let mut seen = Vec::new();
        chunk
            .for_each(1000, "test", |start, len| {
                if len > 300 {
                    // A real allocator refusal: far beyond any address space.
                    let _ = tch::Tensor::empty([1i64 << 50], (tch::Kind::Float, Device::Cpu));
                }
                seen.push((start, len));
            })
            .unwrap();
        assert_eq!(chunk.size(), 250);
        assert_eq!(chunk.halvings(), 2);
        assert_eq!(seen, vec![(0, 250), (250, 250), (500, 250), (750, 250)]);
    }

    #[test]
    fn other_panics_pass_through() {
        let chunk = EvalChunk::new(8);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            chunk.for_each(8, "test", |_, _| panic!("shapes cannot be multiplied"))
        }));
        let payload = caught.expect_err("the panic must reach the caller");
        assert_eq!(
            payload_message(payload.as_ref()),
            Some("shapes cannot be multiplied")
        );
        assert_eq!(chunk.halvings(), 0);
    }

    #[test]
    fn an_image_that_never_fits_is_an_out_of_memory_error() {
        let chunk = EvalChunk::new(4);
        let err = chunk
            .for_each(4, "test set", |_, _| {
                let _ = tch::Tensor::empty([1i64 << 50], (tch::Kind::Float, Device::Cpu));
            })
            .unwrap_err();
        assert!(matches!(err, Error::OutOfMemory { .. }), "{err:?}");
        let text = crate::error::chain(&err);
        assert!(
            text.starts_with("out of memory: test set: one image"),
            "{text}"
        );
        assert!(is_out_of_memory(&text), "{text}");
        assert_eq!(chunk.size(), 1);
    }

    #[test]
    fn a_cuda_sized_request_is_capped_below_2_31_elements_per_intermediate() {
        // The whole training set of Fashion-MNIST or CIFAR-10, as CUDA would start it.
        for n in [50_000, 60_000] {
            assert_eq!(EvalChunk::start(Device::Cuda(0), n).size(), CUDA_CHUNK_CAP);
        }
        assert_eq!(EvalChunk::start(Device::Cuda(0), 300).size(), 300);
        // The widest per-image intermediates of the paper's models (module doc): Inception's
        // stem 96x28x28, ResNet18's first block 64x32x32, AlexNet's first conv 64x28x28.
        for per_image in [96 * 28 * 28, 64 * 32 * 32, 64 * 28 * 28] {
            assert!(CUDA_CHUNK_CAP * per_image < MAX_INTERMEDIATE_ELEMENTS / 3);
        }

        // A CPU stand-in for a CUDA device: 60,000 images evaluated from a chunk started the
        // way CUDA starts it. Every forward pass sees at most the cap, the chunks cover the
        // set in order, and the result is the CPU's own chunking's.
        #[derive(Debug)]
        struct Probe {
            inner: Box<dyn crate::models::Model>,
            batches: std::cell::RefCell<Vec<i64>>,
        }
        impl tch::nn::ModuleT for Probe {
            fn forward_t(&self, xs: &tch::Tensor, train: bool) -> tch::Tensor {
                self.batches.borrow_mut().push(xs.size()[0]);
                self.inner.forward_t(xs, train)
            }
        }
        use crate::models::{self, Config, ModelKind};
        tch::manual_seed(5);
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let inner = models::build(&vs.root(), ModelKind::Mlp1x512, &Config::new(1, 2, 10)).unwrap();
        let x = tch::Tensor::randn([60_000, 1, 2, 2], (tch::Kind::Float, Device::Cpu));
        let y = tch::Tensor::randint(10, [60_000], (tch::Kind::Int64, Device::Cpu));
        let probe = Probe {
            inner,
            batches: Default::default(),
        };
        let chunk = EvalChunk::start(Device::Cuda(0), 60_000);
        let (_, acc, correct) =
            super::super::evaluate_in(&probe, &x, &y, &chunk, false, false, "training set")
                .unwrap();
        let batches = probe.batches.borrow().clone();
        assert_eq!(batches.iter().sum::<i64>(), 60_000);
        assert!(batches.iter().all(|&b| b <= CUDA_CHUNK_CAP), "{batches:?}");
        assert_eq!(batches.len(), 60_000usize.div_ceil(CUDA_CHUNK_CAP as usize));
        let (_, cpu_acc, cpu_correct) = super::super::evaluate(&probe, &x, &y).unwrap();
        assert_eq!(acc, cpu_acc);
        assert!(correct.equal(&cpu_correct));
    }

    /// A real MLP whose forward pass, over more than `fits` images, first asks the CPU
    /// allocator for an impossible tensor, as a GPU short of memory would refuse.
    #[derive(Debug)]
    struct Cramped {
        inner: Box<dyn crate::models::Model>,
        fits: i64,
        calls: Cell<usize>,
    }

    impl tch::nn::ModuleT for Cramped {
        fn forward_t(&self, xs: &tch::Tensor, train: bool) -> tch::Tensor {
            self.calls.set(self.calls.get() + 1);
            if xs.size()[0] > self.fits {
                let _ = tch::Tensor::empty([1i64 << 50], (tch::Kind::Float, Device::Cpu));
            }
            self.inner.forward_t(xs, train)
        }
    }

    #[test]
    fn evaluation_short_of_memory_measures_what_evaluation_in_one_chunk_does() {
        use crate::models::{self, Config, ModelKind};
        tch::manual_seed(3);
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let cfg = Config::new(1, 8, 10);
        let inner = models::build(&vs.root(), ModelKind::Mlp1x512, &cfg).unwrap();
        let x = tch::Tensor::randn([600, 1, 8, 8], (tch::Kind::Float, Device::Cpu));
        let y = tch::Tensor::randint(10, [600], (tch::Kind::Int64, Device::Cpu));
        let (loss, acc, correct) = super::super::evaluate(inner.as_ref(), &x, &y).unwrap();

        let cramped = Cramped {
            inner,
            fits: 200,
            calls: Cell::new(0),
        };
        // As a GPU starts: the whole set at once.
        let chunk = EvalChunk::start(Device::Cuda(0), 600);
        assert_eq!(chunk.size(), 600);
        let run = || {
            super::super::evaluate_in(&cramped, &x, &y, &chunk, false, false, "test set").unwrap()
        };
        let (l, a, c) = run();
        // 600 and 300 refused, then four chunks of 150.
        assert_eq!(
            (chunk.size(), chunk.halvings(), cramped.calls.get()),
            (150, 2, 6)
        );
        assert_eq!(a, acc);
        assert!(c.equal(&correct));
        assert!((l - loss).abs() <= 1e-6 * loss.abs(), "{l} vs {loss}");
        // The size found is kept: the next evaluation is refused nothing.
        let (l2, _, _) = run();
        assert_eq!((chunk.halvings(), cramped.calls.get()), (2, 10));
        assert_eq!(l2, l);
    }
}
