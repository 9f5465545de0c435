//! A table entry: a command's [`Meta`] and how it runs.

use bytes::Bytes;
use rocksync_protocol::Reply;

use crate::cmd::spec::Meta;
use crate::cmd::{Exec, ParseFn, ReadFn};
use crate::session::{BoxReply, Session};

/// A command the connection answers (it acts on the session or the node).
pub type ConnFn = fn(&mut Session<'_>, &[Bytes]) -> Reply;

/// As [`ConnFn`], for a command that waits (a role change, WAIT, DEBUG
/// SLEEP).
pub type ConnAsyncFn = for<'s, 'c> fn(&'s mut Session<'c>, &'s [Bytes]) -> BoxReply<'s>;

/// How a command runs.
#[derive(Clone, Copy)]
pub enum Run {
    /// A data command: a read on the connection, a write on the write path.
    Data(Exec),
    /// Answered by the connection.
    Conn(ConnFn),
    /// Answered by the connection, awaiting.
    ConnAsync(ConnAsyncFn),
    /// A container: the subcommand its first argument names runs; called
    /// with no argument, its own handler does, when it has one (COMMAND).
    Container(&'static [Spec], Option<ConnFn>),
}

/// One command of the table.
#[derive(Clone, Copy)]
pub struct Spec {
    /// Name, arity, flags, keys, categories, docs.
    pub meta: Meta,
    /// Its handler.
    pub run: Run,
}

impl Spec {
    /// Its subcommands (none for a plain command).
    pub fn subcommands(&self) -> &'static [Spec] {
        match self.run {
            Run::Container(subs, _) => subs,
            _ => &[],
        }
    }

    /// The subcommand named `name` (any case).
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static Spec> {
        self.subcommands().iter().find(|s| {
            s.meta
                .name
                .split_once('|')
                .is_some_and(|(_, sub)| sub.as_bytes().eq_ignore_ascii_case(name))
        })
    }
}

impl Meta {
    /// A read command.
    pub const fn read(self, f: ReadFn) -> Spec {
        Spec {
            meta: self,
            run: Run::Data(Exec::Read(f)),
        }
    }
    /// A write command parsed on its connection.
    pub const fn parsed(self, f: ParseFn) -> Spec {
        Spec {
            meta: self,
            run: Run::Data(Exec::Parsed(f)),
        }
    }
    /// A command the connection answers.
    pub const fn conn(self, f: ConnFn) -> Spec {
        Spec {
            meta: self,
            run: Run::Conn(f),
        }
    }
    /// A command the connection answers, awaiting.
    pub const fn conn_async(self, f: ConnAsyncFn) -> Spec {
        Spec {
            meta: self,
            run: Run::ConnAsync(f),
        }
    }
    /// A container of subcommands.
    pub const fn container(self, subs: &'static [Spec]) -> Spec {
        Spec {
            meta: self,
            run: Run::Container(subs, None),
        }
    }
    /// A container of subcommands that answers alone too.
    pub const fn container_or(self, subs: &'static [Spec], alone: ConnFn) -> Spec {
        Spec {
            meta: self,
            run: Run::Container(subs, Some(alone)),
        }
    }
}
