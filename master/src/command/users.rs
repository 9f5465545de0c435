//! ACL: users and their permissions (Redis 7.0's subcommands).

use super::spec::Spec;
use crate::cmd::spec::cmd;
use crate::cmd::spec::flag::*;
use crate::session::acl;

/// ACL and its subcommands.
pub static TABLE: &[Spec] = &[cmd("acl", -2, 0, 0)
    .doc(
        "server",
        "6.0.0",
        "A container for Access List Control commands.",
    )
    .container(&[
        cmd("acl|cat", -2, NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Lists the ACL categories, or the commands inside a category.",
            )
            .conn(acl::cat),
        cmd("acl|deluser", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Deletes ACL users, and terminates their connections.",
            )
            .conn(acl::deluser),
        cmd("acl|dryrun", -4, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Simulates the execution of a command by a user, without executing the command.",
            )
            .conn(acl::dryrun),
        cmd("acl|genpass", -2, NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Generates a pseudorandom, secure password that can be used to identify ACL users.",
            )
            .conn(acl::genpass),
        cmd("acl|getuser", 3, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc("server", "6.0.0", "Lists the ACL rules of a user.")
            .conn(acl::getuser),
        cmd("acl|help", 2, LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Returns helpful text about the different subcommands.",
            )
            .conn(acl::help),
        cmd("acl|list", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Dumps the effective rules in ACL file format.",
            )
            .conn(acl::list),
        cmd("acl|load", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Reloads the rules from the configured ACL file.",
            )
            .conn(acl::load),
        cmd("acl|log", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Lists recent security events generated due to ACL rules.",
            )
            .conn(acl::log),
        cmd("acl|save", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Saves the effective ACL rules in the configured ACL file.",
            )
            .conn(acl::save),
        cmd("acl|setuser", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Creates and modifies an ACL user and its rules.",
            )
            .conn(acl::setuser),
        cmd("acl|users", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
            .doc("server", "6.0.0", "Lists all ACL users.")
            .conn(acl::users),
        cmd("acl|whoami", 2, NOSCRIPT | LOADING | STALE, 0)
            .doc(
                "server",
                "6.0.0",
                "Returns the authenticated username of the current connection.",
            )
            .conn(acl::whoami),
    ])];
