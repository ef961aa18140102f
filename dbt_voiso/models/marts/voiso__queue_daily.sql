{#- One row per local day, queue and direction, for calls that went through a queue:
    the day's `voiso__queue_interval` rows of channel `call`, added up, with the same
    rate definitions, and the repeat contacts of the day's handled inbound calls
    (see voiso_queue_periods). -#}
{{ dbt_voiso.voiso_incremental_grain_config('local_date') }}
{{ dbt_voiso.voiso_queue_periods('local_date', dbt_voiso.voiso_period_day) }}
