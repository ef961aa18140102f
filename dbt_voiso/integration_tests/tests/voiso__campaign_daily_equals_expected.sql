{{ equals_expected('voiso__campaign_daily', ['local_date','campaign_id']) }}
