{{ equals_expected('voiso__queue_weekly', ['week_start','queue_id','direction']) }}
