//! The router's view of the stream and its decisions, as a pure function of
//! the events read so far: no clock, no IO. The same stream prefix gives
//! the same state and the same decisions, in every replica and on every
//! replay, which is what makes assignments reproducible.
//!
//! A decision is an event to publish (`pending`) whose id is derived from
//! the conversation and the event that triggered it; it leaves `pending`
//! when it comes back from the stream. A bot's deadline is a `timers`
//! entry; when it comes due the publisher stores a `RoutingDue` event, and
//! the fallback is decided when that event is read back, at its place in
//! the stream.

use std::collections::{BTreeMap, HashMap, HashSet};

use omnibus_proto::{
    ChannelChanged, ChannelStatus, ConversationAssigned, Direction, Event, GroupChanged, GroupRule,
    Presence, PresenceChanged, Routing, RoutingDue, event::Payload, routing_due::Reason,
};
use omnibus_timers::schedule::WorkingHours;

use crate::pick::{self, GroupState};

/// The bot's default time to answer.
pub const DEFAULT_BOT_TIMEOUT_SECONDS: u32 = 60;

/// A deadline: a bot's time to answer (then the fallback decides), or the
/// next opening for a conversation waiting since off hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub conversation_id: String,
    pub channel_id: String,
    pub due_ms: i64,
    pub reason: Reason,
    /// The event whose decision armed it.
    pub trigger_event_id: String,
}

#[derive(Debug, Clone, Default)]
struct ChannelRouting {
    routing: Option<Routing>,
    hours: Option<WorkingHours>,
}

#[derive(Debug, Clone, Default)]
struct Conversation {
    channel_id: String,
    open: bool,
    assignee: String,
    group_id: String,
    /// Stream sequence since which it waits on its group (ordering of the
    /// waiting line).
    since: u64,
}

/// Everything the router knows.
#[derive(Debug, Default)]
pub struct State {
    /// The last stream sequence applied.
    pub applied: u64,
    channels: HashMap<String, ChannelRouting>,
    groups: HashMap<String, GroupState>,
    online: HashSet<String>,
    conversations: HashMap<String, Conversation>,
    /// Decided events not yet read back from the stream, by event id.
    pub pending: BTreeMap<String, Event>,
    /// Armed bot deadlines, by the id of the `RoutingDue` event that fires them.
    pub timers: BTreeMap<String, Timer>,
}

/// What triggered a decision: its id names the decision, its time is the
/// decision's time (working hours, deadlines).
struct Trigger<'a> {
    id: &'a str,
    at_ms: i64,
    sequence: u64,
}

impl State {
    /// Applies one stored event.
    pub fn apply(&mut self, sequence: u64, event: &Event) {
        self.applied = self.applied.max(sequence);
        let Some(payload) = &event.payload else {
            return;
        };
        let trigger = Trigger {
            id: &event.id,
            at_ms: time_of(event),
            sequence,
        };
        let conversation_id = event.conversation_id.as_str();
        match payload {
            Payload::ChannelChanged(changed) => self.channel_changed(changed),
            Payload::GroupChanged(changed) => self.group_changed(changed),
            Payload::PresenceChanged(changed) => self.presence_changed(changed, &trigger),
            Payload::MessageReceived(received) => {
                let from_customer = received.direction() != Direction::Outbound;
                if from_customer && !conversation_id.is_empty() {
                    self.customer_wrote(conversation_id, &event.channel_id, &trigger);
                }
            }
            Payload::ConversationStarted(started) => {
                let conversation = self.conversation(conversation_id, &event.channel_id);
                conversation.open = true;
                if conversation.assignee.is_empty() {
                    conversation.assignee = started.operator_id.clone();
                }
            }
            Payload::ConversationClosed(_) => {
                self.conversation(conversation_id, &event.channel_id).open = false;
                self.disarm(conversation_id);
            }
            Payload::ConversationAssigned(assigned) => {
                self.assigned(conversation_id, &event.channel_id, assigned, &trigger);
            }
            Payload::MessageRequested(requested) => {
                let is_bot = self.bot_of(conversation_id) == Some(requested.operator_id.as_str());
                if is_bot && !requested.operator_id.is_empty() {
                    self.disarm(conversation_id);
                }
            }
            Payload::RoutingDue(due) => self.due(conversation_id, due, &trigger),
            _ => {}
        }
    }

    fn channel_changed(&mut self, changed: &ChannelChanged) {
        let Some(state) = &changed.state else {
            return;
        };
        if state.status == ChannelStatus::Deleted as i32 {
            self.channels.remove(&state.id);
            return;
        }
        let settings = state.settings.clone().unwrap_or_default();
        let hours = settings
            .schedule
            .as_ref()
            .and_then(|s| WorkingHours::parse(s).ok());
        let routing = settings.routing.filter(|r| !is_empty(r));
        self.channels
            .insert(state.id.clone(), ChannelRouting { routing, hours });
    }

    fn group_changed(&mut self, changed: &GroupChanged) {
        let Some(group) = &changed.group else {
            return;
        };
        if changed.deleted {
            self.groups.remove(&group.id);
            return;
        }
        let entry = self.groups.entry(group.id.clone()).or_default();
        entry.operators = group.operator_ids.clone();
        entry.rule = GroupRule::try_from(group.rule).unwrap_or(GroupRule::RoundRobin);
    }

    fn presence_changed(&mut self, changed: &PresenceChanged, trigger: &Trigger<'_>) {
        let id = &changed.operator_id;
        if changed.presence() != Presence::Online {
            self.online.remove(id);
            return;
        }
        if self.online.insert(id.clone()) {
            self.serve_waiting(id, trigger);
        }
    }

    /// Conversations waiting on a group of `operator_id`, oldest first, go
    /// to the group's rule now that one more of its operators is online.
    fn serve_waiting(&mut self, operator_id: &str, trigger: &Trigger<'_>) {
        let mut waiting: Vec<(u64, String, String)> = self
            .conversations
            .iter()
            .filter(|(_, c)| c.open && c.assignee.is_empty() && !c.group_id.is_empty())
            .filter(|(_, c)| {
                self.groups
                    .get(&c.group_id)
                    .is_some_and(|g| g.operators.iter().any(|o| o == operator_id))
            })
            .map(|(id, c)| (c.since, id.clone(), c.group_id.clone()))
            .collect();
        waiting.sort();
        for (_, conversation_id, group_id) in waiting {
            let channel_id = self.conversations[&conversation_id].channel_id.clone();
            if self.off_hours(&channel_id, trigger.at_ms) {
                continue;
            }
            if let Some(operator) = self.pick(&group_id) {
                self.decide(&conversation_id, &channel_id, &operator, &group_id, trigger);
            }
        }
    }

    fn customer_wrote(&mut self, conversation_id: &str, channel_id: &str, trigger: &Trigger<'_>) {
        let known = self.conversations.contains_key(conversation_id);
        let conversation = self.conversation(conversation_id, channel_id);
        // A channel re-created for the same account carries the
        // conversation on: the customer now writes through it.
        conversation.channel_id = channel_id.to_owned();
        let reopened = !conversation.open;
        conversation.open = true;
        if (!known || reopened) && conversation.assignee.is_empty() {
            self.route(conversation_id, channel_id, trigger);
        }
    }

    /// Assigns a new (or reopened, unheld) conversation by its channel's routing.
    fn route(&mut self, conversation_id: &str, channel_id: &str, trigger: &Trigger<'_>) {
        let Some(routing) = self.routing_of(channel_id).cloned() else {
            return;
        };
        if self.off_hours(channel_id, trigger.at_ms) {
            let group = first_set(&routing.group_id, &routing.fallback_group_id);
            if !group.is_empty() {
                self.decide(conversation_id, channel_id, "", group, trigger);
                if let Some(opens) = self.next_open(channel_id, trigger.at_ms) {
                    self.arm(conversation_id, channel_id, opens, Reason::Opened, trigger);
                }
                return;
            }
        }
        if !routing.operator_id.is_empty() {
            self.decide(
                conversation_id,
                channel_id,
                &routing.operator_id,
                "",
                trigger,
            );
        } else if !routing.group_id.is_empty() {
            self.give_to_group(conversation_id, channel_id, &routing.group_id, trigger);
        } else if !routing.bot_id.is_empty() {
            self.decide(conversation_id, channel_id, &routing.bot_id, "", trigger);
            let seconds = routing
                .bot_timeout_seconds
                .unwrap_or(DEFAULT_BOT_TIMEOUT_SECONDS);
            let due_ms = trigger
                .at_ms
                .saturating_add(i64::from(seconds).saturating_mul(1000));
            self.arm(
                conversation_id,
                channel_id,
                due_ms,
                Reason::BotTimeout,
                trigger,
            );
        }
    }

    fn arm(
        &mut self,
        conversation_id: &str,
        channel_id: &str,
        due_ms: i64,
        reason: Reason,
        trigger: &Trigger<'_>,
    ) {
        let timer = Timer {
            conversation_id: conversation_id.to_owned(),
            channel_id: channel_id.to_owned(),
            due_ms,
            reason,
            trigger_event_id: trigger.id.to_owned(),
        };
        self.timers
            .insert(due_event_id(conversation_id, trigger.id), timer);
    }

    /// The bot gave up (timed out or handed over): the fallback takes it.
    fn fall_back(&mut self, conversation_id: &str, channel_id: &str, trigger: &Trigger<'_>) {
        let Some(routing) = self.routing_of(channel_id).cloned() else {
            return;
        };
        if !routing.fallback_operator_id.is_empty() {
            let operator = routing.fallback_operator_id.as_str();
            self.decide(conversation_id, channel_id, operator, "", trigger);
        } else if !routing.fallback_group_id.is_empty() {
            self.give_to_group(
                conversation_id,
                channel_id,
                &routing.fallback_group_id,
                trigger,
            );
        } else {
            self.decide(conversation_id, channel_id, "", "", trigger);
        }
    }

    /// To the group's rule, or waiting on the group with nobody online.
    fn give_to_group(
        &mut self,
        conversation_id: &str,
        channel_id: &str,
        group_id: &str,
        trigger: &Trigger<'_>,
    ) {
        let operator = self.pick(group_id).unwrap_or_default();
        self.decide(conversation_id, channel_id, &operator, group_id, trigger);
    }

    fn pick(&mut self, group_id: &str) -> Option<String> {
        let mut load: HashMap<&str, usize> = HashMap::new();
        for conversation in self.conversations.values() {
            if conversation.open && !conversation.assignee.is_empty() {
                *load.entry(conversation.assignee.as_str()).or_default() += 1;
            }
        }
        let group = self.groups.get_mut(group_id)?;
        pick::pick(group, &self.online, &load)
    }

    /// Records a decision: the conversation is taken as assigned at once
    /// (later decisions count it), and the event waits to be published.
    fn decide(
        &mut self,
        conversation_id: &str,
        channel_id: &str,
        operator_id: &str,
        group_id: &str,
        trigger: &Trigger<'_>,
    ) {
        let conversation = self.conversation(conversation_id, channel_id);
        conversation.assignee = operator_id.to_owned();
        conversation.group_id = group_id.to_owned();
        conversation.since = trigger.sequence;
        let id = route_event_id(conversation_id, trigger.id);
        let event = Event {
            id: id.clone(),
            occurred_at_ms: trigger.at_ms,
            recorded_at_ms: trigger.at_ms,
            channel_id: channel_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            payload: Some(Payload::ConversationAssigned(ConversationAssigned {
                operator_id: operator_id.to_owned(),
                group_id: group_id.to_owned(),
            })),
        };
        tracing::debug!(conversation_id, operator_id, group_id, "routing decided");
        self.pending.insert(id, event);
    }

    fn assigned(
        &mut self,
        conversation_id: &str,
        channel_id: &str,
        assigned: &ConversationAssigned,
        trigger: &Trigger<'_>,
    ) {
        let ours = self.pending.remove(trigger.id).is_some();
        if !ours {
            // Someone else decided (an operator, by hand): what the router
            // had decided for this conversation is void.
            self.pending
                .retain(|_, e| e.conversation_id != conversation_id);
        }
        let bot = self.bot_of(conversation_id).map(str::to_owned);
        let conversation = self.conversation(conversation_id, channel_id);
        let previous = std::mem::take(&mut conversation.assignee);
        let was_waiting = previous.is_empty() && !conversation.group_id.is_empty();
        conversation.assignee = assigned.operator_id.clone();
        if !(was_waiting && conversation.group_id == assigned.group_id) {
            conversation.since = trigger.sequence;
        }
        conversation.group_id = assigned.group_id.clone();
        let open = conversation.open;
        if assigned.operator_id.is_empty() {
            // Unassigned (a hand-over, or waiting): the bot's time is up,
            // a wait for the opening goes on.
            self.disarm_where(conversation_id, |t| t.reason == Reason::BotTimeout);
        } else if bot.as_deref() != Some(assigned.operator_id.as_str()) {
            self.disarm(conversation_id);
        }
        let handed_over = !ours
            && bot.is_some_and(|b| b == previous)
            && assigned.operator_id.is_empty()
            && assigned.group_id.is_empty();
        if handed_over && open {
            self.fall_back(conversation_id, channel_id, trigger);
        }
    }

    fn due(&mut self, conversation_id: &str, due: &RoutingDue, trigger: &Trigger<'_>) {
        let Some(timer) = self.timers.remove(trigger.id) else {
            return;
        };
        if due.reason() == Reason::Opened {
            self.opened(conversation_id, &timer.channel_id, trigger);
            return;
        }
        let held_by_bot = self
            .conversations
            .get(conversation_id)
            .is_some_and(|c| c.open && Some(c.assignee.as_str()) == self.bot_of(conversation_id));
        if held_by_bot {
            self.fall_back(conversation_id, &timer.channel_id, trigger);
        }
    }

    /// Working hours began: a conversation still waiting on its group goes
    /// to an online operator of it (else it waits for one to come online).
    fn opened(&mut self, conversation_id: &str, channel_id: &str, trigger: &Trigger<'_>) {
        let Some(waiting) = self.conversations.get(conversation_id) else {
            return;
        };
        if !waiting.open || !waiting.assignee.is_empty() || waiting.group_id.is_empty() {
            return;
        }
        let group_id = waiting.group_id.clone();
        if self.off_hours(channel_id, trigger.at_ms) {
            return;
        }
        if let Some(operator) = self.pick(&group_id) {
            self.decide(conversation_id, channel_id, &operator, &group_id, trigger);
        }
    }

    fn disarm(&mut self, conversation_id: &str) {
        self.disarm_where(conversation_id, |_| true);
    }

    fn disarm_where(&mut self, conversation_id: &str, which: impl Fn(&Timer) -> bool) {
        self.timers
            .retain(|_, t| t.conversation_id != conversation_id || !which(t));
    }

    fn next_open(&self, channel_id: &str, at_ms: i64) -> Option<i64> {
        self.channels
            .get(channel_id)?
            .hours
            .as_ref()?
            .next_open(at_ms)
    }

    fn conversation(&mut self, conversation_id: &str, channel_id: &str) -> &mut Conversation {
        self.conversations
            .entry(conversation_id.to_owned())
            .or_insert_with(|| Conversation {
                channel_id: channel_id.to_owned(),
                ..Default::default()
            })
    }

    fn routing_of(&self, channel_id: &str) -> Option<&Routing> {
        self.channels.get(channel_id)?.routing.as_ref()
    }

    /// The bot of the conversation's channel, if it routes to one.
    fn bot_of(&self, conversation_id: &str) -> Option<&str> {
        let channel_id = &self.conversations.get(conversation_id)?.channel_id;
        let bot = self.routing_of(channel_id)?.bot_id.as_str();
        (!bot.is_empty()).then_some(bot)
    }

    fn off_hours(&self, channel_id: &str, at_ms: i64) -> bool {
        self.channels
            .get(channel_id)
            .and_then(|c| c.hours.as_ref())
            .is_some_and(|hours| !hours.is_open(at_ms))
    }

    /// Armed deadlines that are due at `now_ms`.
    pub fn due_timers(&self, now_ms: i64) -> Vec<(String, Timer)> {
        self.timers
            .iter()
            .filter(|(_, t)| t.due_ms <= now_ms)
            .map(|(id, t)| (id.clone(), t.clone()))
            .collect()
    }

    /// The earliest armed deadline.
    pub fn next_due(&self) -> Option<i64> {
        self.timers.values().map(|t| t.due_ms).min()
    }
}

/// The event that fires a timer.
pub fn due_event(id: &str, timer: &Timer, now_ms: i64) -> Event {
    Event {
        id: id.to_owned(),
        occurred_at_ms: now_ms,
        recorded_at_ms: now_ms,
        channel_id: timer.channel_id.clone(),
        conversation_id: timer.conversation_id.clone(),
        payload: Some(Payload::RoutingDue(RoutingDue {
            reason: timer.reason as i32,
            trigger_event_id: timer.trigger_event_id.clone(),
        })),
    }
}

/// `route:<conversation>:<trigger>`: one decision per conversation and trigger.
pub fn route_event_id(conversation_id: &str, trigger_id: &str) -> String {
    format!("route:{conversation_id}:{trigger_id}")
}

/// `routing-due:<conversation>:<trigger>`: one firing per armed deadline.
pub fn due_event_id(conversation_id: &str, trigger_id: &str) -> String {
    format!("routing-due:{conversation_id}:{trigger_id}")
}

fn first_set<'a>(first: &'a str, second: &'a str) -> &'a str {
    if first.is_empty() { second } else { first }
}

fn is_empty(routing: &Routing) -> bool {
    routing.operator_id.is_empty() && routing.group_id.is_empty() && routing.bot_id.is_empty()
}

/// Omnibus's clock for the event (the provider's may lag).
fn time_of(event: &Event) -> i64 {
    if event.recorded_at_ms > 0 {
        event.recorded_at_ms
    } else {
        event.occurred_at_ms
    }
}

#[cfg(test)]
mod tests;
