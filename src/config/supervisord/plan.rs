//! The plan of a supervisord file: `[group:x]` sections (§2.5), the process groups
//! supervisord would make, and their start order (§3.3); a warning for every section
//! rinit does not read.

use std::collections::HashSet;

use super::Reader;
use super::expand::Value;
use super::ini::{Entry, Section};
use super::supervisord_section::Inherited;
use super::values::{integer, process_or_group_name};
use crate::config::{ConfigError, DEFAULT_GRACE, OutputSpec, Plan, ProgramSpec};

/// One supervisord process group: its (priority, name) sort key and its processes in
/// start order.
struct ProcessGroup {
    priority: i32,
    name: String,
    processes: Vec<ProgramSpec>,
}

/// A `[group:x]` section: its members are `[program:x]` names, in `programs=` order.
struct Group {
    name: String,
    priority: i32,
    members: Vec<String>,
}

impl Reader<'_> {
    /// Everything read into a plan: `[supervisord]` first (what programs inherit), then
    /// the groups, then each program in its group.
    pub(super) fn plan(&mut self) -> Result<Plan, ConfigError> {
        let Some(index) = self
            .ini
            .sections
            .iter()
            .position(|s| s.name == "supervisord")
        else {
            return Err(ConfigError::whole_file(
                self.path,
                ".ini file does not include supervisord section",
            ));
        };
        let inherited = self.supervisord_section(index)?;
        let groups = self.groups()?;
        let mut process_groups = self.ungrouped_programs(&groups, &inherited)?;
        for group in &groups {
            let process_group = self.grouped_programs(group, &inherited)?;
            process_groups.push(process_group);
        }
        Ok(Plan {
            source: self.path.to_path_buf(),
            grace: DEFAULT_GRACE,
            stop_delay: inherited.stop_delay,
            programs: self.start_order(process_groups)?,
            output: OutputSpec::default(),
            control: inherited.control.clone(),
        })
    }

    /// Every `[group:x]`, in file order.
    fn groups(&mut self) -> Result<Vec<Group>, ConfigError> {
        let mut groups = Vec::new();
        let mut warnings = Vec::new();
        for section in &self.ini.sections {
            if let Some(name) = section.name.strip_prefix("group:") {
                groups.push(self.group(section, name, &mut warnings)?);
            }
        }
        self.warnings.append(&mut warnings);
        Ok(groups)
    }

    /// One `[group:x]`: `programs=` and `priority=`, and a warning for any other key.
    fn group(
        &self,
        section: &Section,
        name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Group, ConfigError> {
        let name = process_or_group_name(name).map_err(|m| self.section_error(section, m))?;
        let names = self.names(
            &[("here", Value::Str(self.here.clone()))],
            self.global_env.clone(),
        );
        let mut group = Group {
            name,
            priority: 999,
            members: Vec::new(),
        };
        let mut programs_given = false;
        for (key, entry) in self.ini.keys(section) {
            let value = match key {
                "programs" | "priority" => self.expand(entry, &section.name, key, &names)?,
                // A [DEFAULT] key meant for programs is not reported here.
                _ if !section.keys.iter().any(|(k, _)| k == key) => continue,
                _ => {
                    let message = "unknown key, ignored (a [group] has programs and priority)";
                    let (file, line) = (entry.file.display(), entry.line);
                    let what = format!("[{}] {key}", section.name);
                    warnings.push(format!("{file}:{line}: {what}: {message}"));
                    continue;
                }
            };
            if key == "priority" {
                group.priority = integer(&value)
                    .and_then(|n| {
                        i32::try_from(n).map_err(|_| format!("priority out of range: {n}"))
                    })
                    .map_err(|m| self.error(entry, &section.name, key, m))?;
            } else {
                programs_given = true;
                let members = self.group_members(section, entry, &value)?;
                group.members.extend(members);
            }
        }
        if !programs_given {
            return Err(self.section_error(
                section,
                format!("[{}] requires a programs line", section.name),
            ));
        }
        Ok(group)
    }

    /// `programs=`: `[program:x]` names, separated by commas.
    fn group_members(
        &self,
        section: &Section,
        entry: &Entry,
        value: &str,
    ) -> Result<Vec<String>, ConfigError> {
        if value.is_empty() {
            return Ok(Vec::new());
        }
        let member = |member: &str| {
            let member = member.trim().to_string();
            if self.ini.section(&format!("program:{member}")).is_some() {
                return Ok(member);
            }
            let message = if self
                .ini
                .section(&format!("fcgi-program:{member}"))
                .is_some()
            {
                format!(
                    "[{}] names fcgi-program {member}, which rinit does not support",
                    section.name
                )
            } else {
                format!(
                    "[{}] names unknown program or fcgi-program {member}",
                    section.name
                )
            };
            Err(self.error(entry, &section.name, "programs", message))
        };
        value.split(',').map(member).collect()
    }

    /// A process group for each `[program:x]` that no group lists, and a warning for
    /// each section rinit does not read, in file order.
    fn ungrouped_programs(
        &mut self,
        groups: &[Group],
        inherited: &Inherited,
    ) -> Result<Vec<ProcessGroup>, ConfigError> {
        let mut process_groups = Vec::new();
        for index in 0..self.ini.sections.len() {
            let name = self.ini.sections[index].name.clone();
            if let Some(raw) = name.strip_prefix("program:") {
                let program = process_or_group_name(raw)
                    .map_err(|m| self.section_error(&self.ini.sections[index], m))?;
                if groups.iter().any(|group| group.members.contains(&program)) {
                    continue;
                }
                let (priority, processes) = self.program(index, &program, &program, inherited)?;
                process_groups.push(ProcessGroup {
                    priority,
                    name: program,
                    processes,
                });
            } else if !(name.starts_with("group:") || name == "supervisord" || name == "include") {
                self.warn_unread_section(index);
            }
        }
        Ok(process_groups)
    }

    /// The processes of a group's members, member by member in `programs=` order.
    fn grouped_programs(
        &mut self,
        group: &Group,
        inherited: &Inherited,
    ) -> Result<ProcessGroup, ConfigError> {
        let mut processes = Vec::new();
        for member in &group.members {
            let index = self
                .ini
                .sections
                .iter()
                .position(|s| s.name == format!("program:{member}"))
                .unwrap_or_default();
            let (_, mut more) = self.program(index, member, &group.name, inherited)?;
            processes.append(&mut more);
        }
        Ok(ProcessGroup {
            priority: group.priority,
            name: group.name.clone(),
            processes,
        })
    }

    /// §3.3: groups by (priority, name); each process takes its group's priority and
    /// name. Process names must be unique, and there must be at least one process.
    fn start_order(
        &self,
        mut process_groups: Vec<ProcessGroup>,
    ) -> Result<Vec<ProgramSpec>, ConfigError> {
        process_groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        let mut programs: Vec<ProgramSpec> = Vec::new();
        let mut seen = HashSet::new();
        for group in process_groups {
            for mut process in group.processes {
                process.priority = group.priority;
                process.group = Some(group.name.clone());
                if !seen.insert(process.name.clone()) {
                    return Err(ConfigError::whole_file(
                        self.path,
                        format!(
                            "process name '{}' is used twice (rinit needs unique process names; is a program listed in two groups?)",
                            process.name
                        ),
                    ));
                }
                programs.push(process);
            }
        }
        if programs.is_empty() {
            return Err(ConfigError::whole_file(
                self.path,
                "no programs defined (expected at least one [program:NAME] section)",
            ));
        }
        Ok(programs)
    }

    /// The warning for a section that is not `[supervisord]`, `[include]`, `[group:x]`
    /// or `[program:x]`.
    fn warn_unread_section(&mut self, index: usize) {
        let section = &self.ini.sections[index];
        let kind = section.name.split(':').next().unwrap_or_default();
        let message = match kind {
            "eventlistener" => recognise_listener(section),
            "fcgi-program" | "unix_http_server" | "inet_http_server" | "supervisorctl"
            | "rpcinterface" | "ctlplugin" => "not supported by rinit, section ignored",
            _ => "unknown section, ignored (section names are case-sensitive)",
        };
        let (file, line) = (section.file.clone(), section.line);
        let what = format!("[{}]", section.name);
        self.warn(&file, line, &what, message);
    }
}

/// The two eventlisteners that containers carry only to make up for what supervisord
/// lacks, recognised by their command and events, and replaced by rinit's own behaviour.
fn recognise_listener(section: &Section) -> &'static str {
    let key = |name: &str| {
        section
            .keys
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, e)| e.value.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let (command, events) = (key("command"), key("events"));
    if command.contains("supervisor_stdout") {
        return "recognised supervisor_stdout: rinit prefixes every program's output itself; \
                section replaced by that";
    }
    let on_failure = [
        "process_state_fatal",
        "process_state_exited",
        "process_state",
    ]
    .iter()
    .any(|event| events.contains(event));
    let stops = ["kill", "shutdown", "stop", "exit"]
        .iter()
        .any(|word| command.contains(word));
    if on_failure && stops {
        return "recognised a listener that stops supervisord when a program fails: rinit \
                shuts the container down itself, with the program's exit code; section \
                replaced by that";
    }
    "eventlisteners are not supported by rinit, section ignored"
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_kill_supervisord_listener_is_recognised() {
        let section = Section {
            name: "eventlistener:quit".into(),
            file: PathBuf::from("/x"),
            line: 1,
            keys: vec![
                (
                    "command".into(),
                    Entry {
                        value: "sh -c 'kill -SIGQUIT $PPID'".into(),
                        file: PathBuf::from("/x"),
                        line: 2,
                    },
                ),
                (
                    "events".into(),
                    Entry {
                        value: "PROCESS_STATE_FATAL".into(),
                        file: PathBuf::from("/x"),
                        line: 3,
                    },
                ),
            ],
        };
        assert!(recognise_listener(&section).starts_with("recognised a listener that stops"));
        let other = Section {
            keys: Vec::new(),
            ..section
        };
        assert_eq!(
            recognise_listener(&other),
            "eventlisteners are not supported by rinit, section ignored"
        );
    }
}
