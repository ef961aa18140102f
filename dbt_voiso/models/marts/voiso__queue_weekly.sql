{#- One row per local week (from Monday, in `voiso_timezone`), queue and direction, for
    calls that went through a queue: the week's `voiso__queue_daily` rows added up, with
    the same rate definitions, and the repeat contacts of the week's handled inbound
    calls (see voiso_queue_periods). -#}
{{ dbt_voiso.voiso_incremental_grain_config('week_start') }}
{{ dbt_voiso.voiso_queue_periods('week_start', dbt_voiso.voiso_period_week) }}
