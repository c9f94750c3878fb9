"""Project lifecycle engine: templates, stage transitions, milestones, collections, reminders and escalation."""
