//! The HTTP side of `gs bench serve`: the server in this process on a free loopback port,
//! keep-alive clients beside it, latency at low load, throughput and an overload run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gs_serve::{ServeOptions, ServedModel, ServerOptions, resolve_model_dir};

use crate::report::percentile;
use crate::serve::micros;
use crate::serve_payload::BenchPayload;

/// A keep-alive HTTP/1.1 client: enough for the benchmark's loopback requests.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    /// Sends a request and returns the status and the body.
    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        let mut out = vec![0; length];
        self.reader.read_exact(&mut out)?;
        Ok((status, out))
    }
}

/// The server in this process on a free loopback port, with `workers` and `queue`.
fn start_server(
    model: &Path,
    workers: usize,
    queue: usize,
) -> anyhow::Result<(SocketAddr, mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    let dir = resolve_model_dir(Some(model))?;
    let (bound_tx, bound_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let options = ServerOptions {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        workers,
        queue,
        access_log: false,
        ..ServerOptions::default()
    };
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let stop = async move {
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
        };
        let load = move || ServedModel::load(&dir, ServeOptions::default());
        if let Err(e) = runtime.block_on(gs_serve::serve(
            load,
            options,
            move |a| {
                let _ = bound_tx.send(a);
            },
            stop,
        )) {
            eprintln!("the benchmark's server failed: {e:#}");
        }
    });
    let addr = bound_rx.recv_timeout(Duration::from_secs(30))?;
    let mut client = Client::connect(addr)?;
    let started = Instant::now();
    while client.request("GET", "/ping", b"")?.0 != 200 {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the benchmark's server never got ready");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((addr, stop_tx, handle))
}

/// Latency at low load, throughput, and overload, over HTTP on loopback.
pub(crate) fn over_http(
    model: &Path,
    payloads: &[&BenchPayload],
    workers: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let (addr, stop, handle) = start_server(model, workers, 4 * workers)?;
    println!(
        "\nover HTTP on loopback, server in this process with {workers} worker(s), one torch \
         thread each; client-observed latency:"
    );
    let mut client = Client::connect(addr)?;
    for payload in payloads.iter().filter(|p| p.name == "a") {
        let mut latencies = Vec::with_capacity(requests);
        for _ in 0..20 {
            client.request("POST", "/invocations", &payload.body)?;
        }
        for _ in 0..requests {
            let start = Instant::now();
            let (status, _) = client.request("POST", "/invocations", &payload.body)?;
            latencies.push(micros(start.elapsed()));
            if status != 200 {
                bail!("HTTP {status}");
            }
        }
        println!(
            "  ({}) one client, {requests} requests: p50 {:.0} µs, p99 {:.0} µs",
            payload.name,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    let a = payloads[0];
    let clients = 2 * workers;
    let (answers, seconds) = load_run(addr, &a.body, clients, requests)?;
    println!(
        "  (a) {clients} clients, {} requests: {:.0} requests/s ({answers:?})",
        clients * requests / 2,
        (clients * requests / 2) as f64 / seconds
    );
    drop(client);
    let _ = stop.send(());
    let _ = handle.join();

    // Overload: twice the clients, a queue of one per worker: only 200 and 503, ping answers.
    let (addr, stop, handle) = start_server(model, workers, workers)?;
    let done = Arc::new(AtomicBool::new(false));
    let pings = {
        let done = done.clone();
        std::thread::spawn(move || -> anyhow::Result<Vec<(u16, f64)>> {
            let mut client = Client::connect(addr)?;
            let mut out = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let start = Instant::now();
                let (status, _) = client.request("GET", "/ping", b"")?;
                out.push((status, micros(start.elapsed())));
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(out)
        })
    };
    let (answers, seconds) = load_run(addr, &a.body, 4 * workers, requests)?;
    done.store(true, Ordering::SeqCst);
    let pings = pings
        .join()
        .map_err(|_| anyhow::anyhow!("the ping thread panicked"))??;
    let _ = stop.send(());
    let _ = handle.join();
    let ping_latencies: Vec<f64> = pings.iter().map(|p| p.1).collect();
    println!(
        "  overload (a): {} clients on a queue of {workers}, {} requests in {seconds:.1} s: \
         {answers:?}; /ping answered {} of {} times with 200, p99 {:.0} µs",
        4 * workers,
        4 * workers * requests / 2,
        pings.iter().filter(|p| p.0 == 200).count(),
        pings.len(),
        percentile(&ping_latencies, 0.99)
    );
    if answers.keys().any(|s| *s != 200 && *s != 503) {
        bail!("the overload run got answers other than 200 and 503: {answers:?}");
    }
    if pings.iter().any(|p| p.0 != 200) {
        bail!("/ping did not answer 200 throughout the overload run");
    }
    Ok(())
}

/// `clients` clients each sending `requests / 2` requests of `body`: the HTTP statuses
/// counted (a 200 whose body is not status 200 counts as 0) and the seconds taken.
fn load_run(
    addr: SocketAddr,
    body: &[u8],
    clients: usize,
    requests: usize,
) -> anyhow::Result<(BTreeMap<u16, usize>, f64)> {
    let answers = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let body = Arc::new(body.to_vec());
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (answers, body) = (answers.clone(), body.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut client = Client::connect(addr)?;
                for _ in 0..requests / 2 {
                    let (status, text) = client.request("POST", "/invocations", &body)?;
                    let status = match status {
                        200 if !text.starts_with(b"{\"status_code\":200") => 0,
                        s => s,
                    };
                    *answers
                        .lock()
                        .expect("not poisoned")
                        .entry(status)
                        .or_default() += 1;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let answers = answers.lock().expect("not poisoned").clone();
    Ok((answers, seconds))
}
