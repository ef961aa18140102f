{{ equals_expected('voiso__agent_daily', ['local_date','agent_id']) }}
