{{ equals_expected('voiso__queue_daily', ['local_date','queue_id','direction']) }}
