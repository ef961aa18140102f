{{ equals_expected('voiso__queue_interval', ['interval_start_utc','queue_id','channel','direction']) }}
