{{ equals_expected('voiso__agent_interval', ['interval_start_utc','agent_id']) }}
