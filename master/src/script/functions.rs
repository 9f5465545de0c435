//! Functions as Redis 7.0 has them (FUNCTION LOAD, FCALL): libraries of
//! Lua functions, stored as data (each library's code under its name in
//! the store, written by binlog events, so they survive restarts and reach
//! every slave), and the catalog loaded from them: which functions there
//! are, their flags and descriptions.
//!
//! A library's code is run once to learn what it registers (in a
//! throwaway interpreter, see [`super::Vm::load_library`]); the write
//! path's interpreter loads the libraries again to run their functions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use crate::store::Store;

/// Script flag `no-writes`: the function may not write (FCALL_RO and
/// slaves run it).
pub const NO_WRITES: u8 = 1;
/// The script flags Redis knows, in the order FUNCTION LIST gives them.
pub const FLAGS: [(&str, u8); 5] = [
    ("no-writes", NO_WRITES),
    ("allow-oom", 2),
    ("allow-stale", 4),
    ("no-cluster", 8),
    ("allow-cross-slot-keys", 16),
];

/// How long FUNCTION LOAD lets a library's code run (Redis's 500 ms).
pub const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// The error for a name with other characters than letters, digits and
/// `_` (Redis gives it for library and function names alike).
pub const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// What a library registers of one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionMeta {
    /// Its name, as registered (FCALL finds it in any case).
    pub name: String,
    /// Its description, if it has one.
    pub description: Option<Bytes>,
    /// Its [`FLAGS`].
    pub flags: u8,
}

/// One library.
#[derive(Clone, Debug)]
pub struct Library {
    /// Its name (from its `#!lua name=` line).
    pub name: String,
    /// Its whole code, the `#!` line included.
    pub code: Bytes,
    /// What it registers, in order.
    pub functions: Vec<FunctionMeta>,
}

/// The libraries as of one change of them.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The store's [`Store::functions_generation`] they were read at.
    pub generation: u64,
    /// By name.
    pub libraries: BTreeMap<String, Library>,
    /// Lowercase function name: (library, index in its functions).
    by_function: HashMap<String, (String, usize)>,
}

impl Catalog {
    /// A catalog of `libraries` at `generation`.
    pub fn new(generation: u64, libraries: BTreeMap<String, Library>) -> Self {
        let mut by_function = HashMap::new();
        for lib in libraries.values() {
            for (i, f) in lib.functions.iter().enumerate() {
                by_function.insert(f.name.to_ascii_lowercase(), (lib.name.clone(), i));
            }
        }
        Self {
            generation,
            libraries,
            by_function,
        }
    }

    /// The function named `name` (any case), with its library.
    pub fn function(&self, name: &[u8]) -> Option<(&Library, &FunctionMeta)> {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let (lib, i) = self.by_function.get(&name)?;
        let lib = self.libraries.get(lib)?;
        Some((lib, lib.functions.get(*i)?))
    }

    /// How many functions there are.
    pub fn function_count(&self) -> usize {
        self.by_function.len()
    }

    /// Redis's refusal of `new` (a library to add): a library of its name
    /// without `replace`, or a function another library has.
    ///
    /// # Errors
    /// The reason, without `ERR `.
    pub fn admits(&self, new: &Library, replace: bool) -> Result<(), String> {
        if self.libraries.contains_key(&new.name) && !replace {
            return Err(format!("Library '{}' already exists", new.name));
        }
        for f in &new.functions {
            if let Some((lib, _)) = self.by_function.get(&f.name.to_ascii_lowercase()) {
                if *lib != new.name {
                    return Err(format!("Function {} already exists", f.name));
                }
            }
        }
        Ok(())
    }
}

/// The catalog shared by the connections, read again from the store when
/// a commit changed the libraries; and the lock that makes FUNCTION's
/// writes one at a time (each checks the catalog, then writes).
#[derive(Debug, Default)]
pub struct Functions {
    catalog: Mutex<Option<Arc<Catalog>>>,
    /// Held by a FUNCTION write from its check to its commit.
    pub writes: tokio::sync::Mutex<()>,
}

impl Functions {
    /// The catalog of what `store` holds now (read again, outside the
    /// lock, when a commit changed the libraries; a read that fails is
    /// answered once and not kept).
    pub fn catalog(&self, store: &Store) -> Arc<Catalog> {
        let generation = store.functions_generation();
        {
            let held = self.catalog.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = held.as_ref().filter(|c| c.generation == generation) {
                return Arc::clone(c);
            }
        }
        let stored = match store.function_libraries() {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "reading the function libraries");
                return Arc::new(Catalog::new(generation, BTreeMap::new()));
            }
        };
        let c = Arc::new(read_catalog(stored, generation));
        let mut held = self.catalog.lock().unwrap_or_else(PoisonError::into_inner);
        match held.as_ref() {
            // Another caller kept a newer one meanwhile.
            Some(h) if h.generation > generation => Arc::clone(h),
            _ => {
                *held = Some(Arc::clone(&c));
                c
            }
        }
    }
}

/// The libraries `stored` (name, code), each run to learn its functions
/// (one that no longer loads is left out, with a log line).
fn read_catalog(stored: Vec<(Vec<u8>, Vec<u8>)>, generation: u64) -> Catalog {
    let mut vm = None;
    let mut libraries = BTreeMap::new();
    for (name, code) in stored {
        let name = String::from_utf8_lossy(&name).into_owned();
        match parse_library(&mut vm, Bytes::from(code), None) {
            Ok(lib) => {
                libraries.insert(lib.name.clone(), lib);
            }
            Err(e) => {
                tracing::error!(library = %name, error = %e, "a stored function library does not load")
            }
        }
    }
    Catalog::new(generation, libraries)
}

/// Check `code` as FUNCTION LOAD does and run it to learn what it
/// registers (in `vm`, made here when `None`; `timeout` bounds the run).
///
/// # Errors
/// Redis's reason (without `ERR `).
pub fn parse_library(
    vm: &mut Option<super::Vm>,
    code: Bytes,
    timeout: Option<Duration>,
) -> Result<Library, String> {
    let (name, body_at) = metadata(&code)?;
    let vm = match vm {
        Some(vm) => vm,
        None => vm.insert(super::Vm::new(Arc::default()).map_err(|e| e.to_string())?),
    };
    let registered = vm.load_library(&code[body_at..], timeout)?;
    if registered.is_empty() {
        return Err("No functions registered".into());
    }
    Ok(Library {
        name,
        functions: registered.into_iter().map(|(meta, _)| meta).collect(),
        code,
    })
}

/// A library's name from its `#!lua name=...` line, and where the code
/// after that line starts (at the line's end, so line numbers hold).
///
/// # Errors
/// Redis's reason (without `ERR `).
pub fn metadata(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("#!")[2..].to_owned();
    let mut name: Option<String> = None;
    for part in parts {
        match part.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("name=") => {
                if name.is_some() {
                    return Err(
                        "Invalid metadata value, name argument was given multiple times".into(),
                    );
                }
                name = Some(part[5..].to_owned());
            }
            _ => return Err(format!("Invalid metadata value given: {part}")),
        }
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !valid_name(name.as_bytes()) {
        return Err(BAD_NAME.into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    Ok((name, end))
}

/// Letters, digits and `_`, at least one.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_read_as_redis_reads_it() {
        assert_eq!(
            metadata(b"#!lua name=lib\nx").expect("accepted"),
            ("lib".into(), 14)
        );
        assert_eq!(metadata(b"#!LUA NAME=L_1 \r\n").expect("accepted").0, "L_1");
        assert_eq!(
            metadata(b"lua name=x\n").expect_err("refused"),
            "Missing library metadata"
        );
        assert_eq!(
            metadata(b"#!lua name=x").expect_err("refused"),
            "Invalid library metadata"
        );
        assert_eq!(
            metadata(b"#!lua name=a b\n").expect_err("refused"),
            "Invalid metadata value given: b"
        );
        assert_eq!(
            metadata(b"#!lua\n").expect_err("refused"),
            "Library name was not given"
        );
        assert_eq!(
            metadata(b"#!py name=x\n").expect_err("refused"),
            "Engine 'py' not found"
        );
        assert_eq!(
            metadata(b"#!lua name=x-y\n").expect_err("refused"),
            BAD_NAME
        );
        assert!(metadata(b"#!lua name=a name=b\n")
            .expect_err("refused")
            .contains("multiple times"));
    }

    #[test]
    fn a_catalog_refuses_clashes_unless_replacing_the_same_library() {
        let lib = |name: &str, f: &str| Library {
            name: name.into(),
            code: Bytes::new(),
            functions: vec![FunctionMeta {
                name: f.into(),
                description: None,
                flags: 0,
            }],
        };
        let mut libs = BTreeMap::new();
        libs.insert("a".to_string(), lib("a", "f"));
        let c = Catalog::new(1, libs);
        assert!(c.function(b"F").is_some());
        assert_eq!(
            c.admits(&lib("a", "g"), false).expect_err("refused"),
            "Library 'a' already exists"
        );
        assert!(c.admits(&lib("a", "f"), true).is_ok());
        assert_eq!(
            c.admits(&lib("b", "F"), true).expect_err("refused"),
            "Function F already exists"
        );
        assert!(c.admits(&lib("b", "g"), false).is_ok());
    }
}
