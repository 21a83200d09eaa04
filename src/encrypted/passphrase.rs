//! Asking a person for a passphrase on the controlling terminal, not on stdin (which
//! may be the command's input) and never echoed. The terminal is restored whatever
//! happens: on return, and on a signal that stops secretrun while it asks.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

/// The terminal being asked on, for the signal handler (-1: none).
static TTY_FD: AtomicI32 = AtomicI32::new(-1);
/// Its settings before echo was turned off, for the signal handler.
static mut SAVED: MaybeUninit<libc::termios> = MaybeUninit::uninit();

const STOPPING: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Asks for a passphrase on the controlling terminal. `None` when there is no
/// terminal to ask on (a container, CI, a daemon).
pub fn ask(prompt: &str) -> io::Result<Option<Zeroizing<String>>> {
    on_terminal(|fd| ask_on(fd, prompt))
}

/// Asks a yes/no question on the controlling terminal, echoed. `None` without one.
pub fn ask_visible(prompt: &str) -> io::Result<Option<String>> {
    on_terminal(|tty| {
        (&*tty).write_all(prompt.as_bytes())?;
        read_line(tty).map(|a| a.as_str().to_owned())
    })
}

/// Runs `f` on the controlling terminal, opened for it and closed after; `None`
/// without one.
fn on_terminal<T>(f: impl FnOnce(&File) -> io::Result<T>) -> io::Result<Option<T>> {
    use std::os::unix::fs::OpenOptionsExt;
    // Close-on-exec, as std opens every file; not made our controlling terminal.
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/tty")
    else {
        return Ok(None);
    };
    f(&tty).map(Some)
}

/// Echo goes off before the prompt is shown, so that nothing typed in answer to it
/// can be echoed; whatever was typed before the prompt is discarded.
fn ask_on(tty: &File, prompt: &str) -> io::Result<Zeroizing<String>> {
    let fd = tty.as_raw_fd();
    let mut saved = MaybeUninit::<libc::termios>::uninit();
    // SAFETY: fd is an open descriptor; tcgetattr fills `saved` on success.
    if unsafe { libc::tcgetattr(fd, saved.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by tcgetattr above.
    let saved = unsafe { saved.assume_init() };
    let mut quiet = saved;
    quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
    quiet.c_lflag |= libc::ICANON;
    // SAFETY: the handler reads SAVED only while TTY_FD is set, after this write.
    unsafe { (&raw mut SAVED).write(MaybeUninit::new(saved)) };
    TTY_FD.store(fd, Ordering::SeqCst);
    let previous = install_restorers();
    // SAFETY: fd is open; `quiet` is a valid termios.
    let set = unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) };
    let line = if set == 0 {
        (&*tty)
            .write_all(prompt.as_bytes())
            .and_then(|()| read_line(tty))
    } else {
        Err(io::Error::last_os_error())
    };
    // SAFETY: as above, restoring what tcgetattr read.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    TTY_FD.store(-1, Ordering::SeqCst);
    restore_handlers(previous);
    let _ = (&*tty).write_all(b"\n");
    line
}

/// Reads one line, a byte at a time: nothing past the newline is taken from the
/// terminal.
fn read_line(mut tty: &File) -> io::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(128));
    loop {
        let mut byte = [0u8];
        match tty.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => bytes.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the passphrase is not UTF-8"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Restores the terminal, then dies of the signal as it would have.
extern "C" fn restore_and_die(sig: libc::c_int) {
    let fd = TTY_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: tcsetattr, write, signal and raise are async-signal-safe; SAVED was
        // written before TTY_FD was set.
        unsafe {
            libc::tcsetattr(fd, libc::TCSAFLUSH, (&raw const SAVED).cast());
            libc::write(fd, c"\n".as_ptr().cast(), 1);
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Installs the restorer for each stopping signal that is not ignored (a shell runs
/// a background job with INT and QUIT ignored: they stay ignored).
fn install_restorers() -> Vec<(libc::c_int, libc::sigaction)> {
    let mut previous = Vec::new();
    for sig in STOPPING {
        // SAFETY: sigaction with a zeroed struct and a handler of the right type.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old);
            if old.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = restore_and_die as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(sig, &new, std::ptr::null_mut());
            previous.push((sig, old));
        }
    }
    previous
}

fn restore_handlers(previous: Vec<(libc::c_int, libc::sigaction)>) {
    for (sig, old) in previous {
        // SAFETY: puts back what sigaction returned.
        unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
    }
}

/// age's callbacks: a passphrase for an encrypted SSH key is asked on the terminal.
#[derive(Clone, Copy)]
pub struct Terminal;

impl age::Callbacks for Terminal {
    fn display_message(&self, message: &str) {
        crate::messages::note(message);
    }

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        // age's text comes through Fluent, which wraps names in bidi isolation marks.
        let text = description.replace(['\u{2068}', '\u{2069}'], "");
        let answer = ask(&format!("{text}: ")).ok()??;
        Some(SecretString::from(answer.as_str().to_owned()))
    }
}
