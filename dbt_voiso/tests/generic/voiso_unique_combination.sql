{#- The columns together identify a row (NULLs compare equal, as in GROUP BY). -#}
{% test voiso_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
